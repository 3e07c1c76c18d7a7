import type { Db } from '../db/client.js';
import { toEventOut } from '../events/repository.js';
import { BadRequest, Forbidden, NotFound } from '../http/errors.js';
import type { BookingBatcher } from './batcher.js';
import { cancelTicket, type TicketWithEvent } from './inventory.js';
import { findTicket } from './tickets.repository.js';

export function toTicketOut(ticket: TicketWithEvent) {
  return {
    id: ticket.id,
    event_id: ticket.event_id,
    user_id: ticket.user_id,
    status: ticket.status,
    purchase_date: new Date(ticket.purchase_date).toISOString(),
    code: ticket.code,
    checked_in_at: ticket.checked_in_at ? new Date(ticket.checked_in_at).toISOString() : null,
    event: toEventOut(ticket.event),
  };
}

export async function bookTicket(batcher: BookingBatcher, eventId: number, userId: number) {
  return toTicketOut(await batcher.book(eventId, userId));
}

export async function cancelOwnTicket(db: Db, batcher: BookingBatcher, ticketId: number, userId: number) {
  const cancelled = await cancelTicket(db, ticketId, userId);
  if (cancelled) {
    batcher.seatsReturned(cancelled.event_id);
    return toTicketOut(cancelled);
  }
  // Nothing was cancelled: read the ticket only now, to say why.
  const ticket = await findTicket(db, ticketId);
  if (!ticket) throw new NotFound('Ticket not found');
  if (ticket.user_id !== userId) throw new Forbidden('Not your ticket');
  throw new BadRequest('Ticket already cancelled');
}
