import type { Db } from '../db/client.js';
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';
import type { BookingBatcher } from '../inventory/batcher.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import type { KeyToRecord, RecordedSale } from '../inventory/idempotency-records.js';
import { cancelTicket } from '../inventory/returns.js';
import { findTicket, findTicketWithEvent, listTickets } from '../inventory/reads.js';
import { toTicketOut } from '../shapes/tickets.js';

export async function bookTicket(batcher: BookingBatcher, eventId: number, userId: number, key?: KeyToRecord) {
  return toTicketOut(await batcher.book(eventId, userId, key));
}

/** The answer of POST /book again, from what its statement recorded (a batch's ticket; before 2026-11-30, on
 * an event with a per-buyer limit, a one-seat order). */
export function replayTicket({ event, tickets }: RecordedSale) {
  return toTicketOut({ ...tickets[0]!, event });
}

export async function getOwnTicket(db: Db, ticketId: number, userId: number) {
  const ticket = await findTicketWithEvent(db, ticketId);
  if (!ticket) throw new NotFound('Ticket not found');
  if (ticket.user_id !== userId) throw new Forbidden('Not your ticket');
  return toTicketOut(ticket);
}

export async function listOwnTickets(db: Db, userId: number, skip: number, limit: number) {
  return (await listTickets(db, userId, skip, limit)).map(toTicketOut);
}

export async function cancelOwnTicket(db: Db, changes: SeatChanges, ticketId: number, userId: number) {
  const cancelled = await cancelTicket(db, ticketId, userId);
  if (cancelled) {
    changes.seatsReturned(cancelled.event_id);
    return toTicketOut(cancelled);
  }
  // Nothing was cancelled: read the ticket only now, to say why.
  const ticket = await findTicket(db, ticketId);
  if (!ticket) throw new NotFound('Ticket not found');
  if (ticket.user_id !== userId) throw new Forbidden('Not your ticket');
  if (ticket.status === 'booked' && ticket.checked_in_at) throw new Conflict('Ticket already checked in');
  throw new BadRequest('Ticket already cancelled');
}
