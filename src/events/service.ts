import type { BookingBatcher } from '../bookings/batcher.js';
import { deleteUnsoldEvent, updateEvent } from '../bookings/inventory.js';
import type { Db } from '../db/client.js';
import { BadRequest, Forbidden, NotFound } from '../http/errors.js';
import { findEvent, insertEvent, listEvents, toEventOut, type EventRow } from './repository.js';
import type { EventCreate, EventPatch } from './schemas.js';
import { parseEventCreate, parseEventPatch } from './values.js';

export async function createEvent(db: Db, body: EventCreate, ownerId: number) {
  return toEventOut(await insertEvent(db, parseEventCreate(body, new Date()), ownerId));
}

export async function listUpcomingFirst(db: Db, skip: number, limit: number) {
  return (await listEvents(db, skip, limit)).map(toEventOut);
}

export async function getEvent(db: Db, eventId: number) {
  return toEventOut(await requireEvent(db, eventId));
}

export async function editEvent(db: Db, batcher: BookingBatcher, eventId: number, body: EventPatch, userId: number) {
  const values = parseEventPatch(body, new Date());
  assertOwner(await requireEvent(db, eventId), userId);
  const updated = await updateEvent(db, eventId, userId, values);
  if (updated) {
    if (values.totalTickets !== undefined) batcher.seatsReturned(eventId);
    return toEventOut(updated);
  }
  // The guarded update matched nothing: find out which guard refused it.
  const current = await requireEvent(db, eventId);
  assertOwner(current, userId);
  throw new BadRequest(`total_tickets cannot be below the ${current.tickets_sold} tickets already sold`);
}

export async function removeEvent(db: Db, eventId: number, userId: number): Promise<void> {
  assertOwner(await requireEvent(db, eventId), userId);
  if (await deleteUnsoldEvent(db, eventId, userId)) return;
  const current = await requireEvent(db, eventId);
  assertOwner(current, userId);
  throw new BadRequest(`Cannot delete an event with ${current.tickets_sold} booked tickets; cancel them first`);
}

async function requireEvent(db: Db, eventId: number): Promise<EventRow> {
  const event = await findEvent(db, eventId);
  if (!event) throw new NotFound('Event not found');
  return event;
}

function assertOwner(event: EventRow, userId: number): void {
  if (event.owner_id !== userId) throw new Forbidden('Only the event owner can change it');
}
