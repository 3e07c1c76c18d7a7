import QRCode from 'qrcode';
import { assertOwnerOrAdmin } from '../auth/roles.js';
import { findTicket, findEvent } from '../inventory/reads.js';
import type { Db } from '../db/client.js';
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';
import { admitTicket, findTicketByCode } from './repository.js';
import type { QrFormat } from './schemas.js';
import { toTicketOut } from '../shapes/tickets.js';

const CODE_SHAPE = /^[A-Za-z0-9_-]+$/;

/** Admits the ticket with this code at the door of `eventId`, once; any later scan says when it was. */
export async function checkIn(db: Db, eventId: number, code: string, userId: number) {
  const event = await findEvent(db, eventId);
  if (!event) throw new NotFound('Event not found');
  await assertOwnerOrAdmin(db, event.owner_id, userId, 'Only the event owner or an admin can check tickets in');
  const scanned = code.trim();
  // Codes are URL-safe base64: anything else (a NUL byte, say, which PostgreSQL text refuses) is unknown.
  if (!CODE_SHAPE.test(scanned)) throw new NotFound('Unknown ticket code');
  const admitted = await admitTicket(db, eventId, scanned);
  if (admitted) return toTicketOut({ ...admitted, event });
  // Nothing was admitted: read the ticket only now, to say why.
  const ticket = await findTicketByCode(db, scanned);
  if (!ticket) throw new NotFound('Unknown ticket code');
  if (ticket.event_id !== eventId) throw new BadRequest('Ticket is for another event');
  if (ticket.status === 'cancelled') throw new Conflict('Ticket was cancelled');
  if (ticket.checked_in_at) throw new Conflict(`Ticket already checked in at ${new Date(ticket.checked_in_at).toISOString()}`);
  // Unreachable unless the row changed between the two statements; a second scan will say what it is now.
  throw new Conflict('Ticket changed during the scan; scan it again');
}

/** The holder's ticket code as a QR image, for the door's scanner. */
export async function ticketQr(db: Db, ticketId: number, userId: number, format: QrFormat): Promise<string | Buffer> {
  const ticket = await findTicket(db, ticketId);
  if (!ticket) throw new NotFound('Ticket not found');
  if (ticket.user_id !== userId) throw new Forbidden('Not your ticket');
  if (ticket.status === 'cancelled') throw new Conflict('Ticket was cancelled');
  const options = { errorCorrectionLevel: 'M', margin: 4 } as const;
  return format === 'svg'
    ? QRCode.toString(ticket.code, { ...options, type: 'svg' })
    : QRCode.toBuffer(ticket.code, { ...options, type: 'png', scale: 8 });
}
