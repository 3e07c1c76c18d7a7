import { assertOwnerOrAdmin } from '../auth/roles.js';
import type { Db } from '../db/client.js';
import { NotFound } from '../errors.js';
import { toCsv } from './csv.js';
import { listAttendees, listOwnedEvents, salesFigures, salesPerHour } from './repository.js';
import { ATTENDEES_CSV_HEADER, type AttendeesOut, type StatsOut } from './schemas.js';
import { findEvent } from '../inventory/reads.js';
import { toEventOut } from '../shapes/events.js';
import type { EventRow } from '../db/rows.js';

export async function eventStats(db: Db, eventId: number, userId: number): Promise<StatsOut> {
  await requireOrganizedEvent(db, eventId, userId);
  const [figures, hours] = await Promise.all([salesFigures(db, eventId), salesPerHour(db, eventId)]);
  // Deleted between the two reads.
  if (!figures) throw new NotFound('Event not found');
  return {
    event_id: eventId,
    capacity: figures.capacity,
    sold: figures.sold,
    held: figures.held,
    available: figures.available,
    cancelled: figures.cancelled,
    checked_in: figures.checked_in,
    revenue: figures.revenue,
    currency: figures.currency,
    sales_per_hour: hours.map((row) => ({ hour: new Date(row.hour).toISOString(), sold: row.sold })),
  };
}

export async function ownedEvents(db: Db, userId: number, skip: number, limit: number) {
  return (await listOwnedEvents(db, userId, skip, limit)).map(toEventOut);
}

export async function eventAttendees(db: Db, eventId: number, userId: number, skip: number, limit: number): Promise<AttendeesOut> {
  const event = await requireOrganizedEvent(db, eventId, userId);
  const rows = await listAttendees(db, eventId, skip, limit);
  return {
    event: toEventOut(event),
    attendees: rows.map((row) => ({
      ticket_id: row.ticket_id,
      user_id: row.user_id,
      email: row.email,
      status: row.status,
      purchase_date: new Date(row.purchase_date).toISOString(),
      checked_in_at: row.checked_in_at ? new Date(row.checked_in_at).toISOString() : null,
      price: row.price,
    })),
  };
}

export function attendeesCsv(list: AttendeesOut): string {
  return toCsv(
    ATTENDEES_CSV_HEADER,
    list.attendees.map((a) => [a.ticket_id, a.user_id, a.email, a.status, a.purchase_date, a.checked_in_at, a.price, list.event.currency]),
  );
}

async function requireOrganizedEvent(db: Db, eventId: number, userId: number): Promise<EventRow> {
  const event = await findEvent(db, eventId);
  if (!event) throw new NotFound('Event not found');
  await assertOwnerOrAdmin(db, event.owner_id, userId, 'Only the event owner or an admin can see its sales');
  return event;
}
