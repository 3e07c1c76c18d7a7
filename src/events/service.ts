import { assertMayCreateEvents, assertOwnerOrAdmin } from '../auth/roles.js';
import { deleteUnsoldEvent, updateEvent } from '../inventory/capacity.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import { transaction, type Db } from '../db/client.js';
import { BadRequest, invalidField, NotFound } from '../errors.js';
import { recordWebhookEvent } from '../outbox/outbox.js';
import { insertEvent, listEvents, type EventFilter } from './repository.js';
import type { EventCreate, EventListQuery, EventPatch } from './schemas.js';
import { parseEventCreate, parseEventPatch } from './values.js';
import { findEvent } from '../inventory/reads.js';
import { toEventOut } from '../shapes/events.js';
import type { EventRow } from '../db/rows.js';
import { parseIsoDate } from '../shapes/dates.js';

export async function createEvent(db: Db, body: EventCreate, ownerId: number, rules: { openEventCreation: boolean; currency: string }) {
  const values = parseEventCreate(body, new Date(), rules.currency);
  const { openEventCreation } = rules;
  await assertMayCreateEvents(db, ownerId, openEventCreation);
  return toEventOut(await insertEvent(db, values, ownerId));
}

/** A page of the events matching the query's filters, how many match in all, and where the next page starts. */
export async function listEventPage(db: Db, query: EventListQuery) {
  const filter: EventFilter = { upcoming: query.upcoming === true };
  if (query.q !== undefined) filter.nameContains = query.q;
  if (query.from !== undefined) filter.from = parseIsoDate(query.from, ['query', 'from']);
  if (query.to !== undefined) filter.to = parseIsoDate(query.to, ['query', 'to']);
  if (filter.from && filter.to && filter.to <= filter.from) throw invalidField(['query', 'to'], 'to should be after from', 'value_error');
  const { skip = 0, limit = 10 } = query;
  const { events, total } = await listEvents(db, filter, skip, limit);
  const nextSkip = skip + limit < total ? skip + limit : null;
  return { events: events.map(toEventOut), total, nextSkip };
}

export async function getEvent(db: Db, eventId: number) {
  return toEventOut(await requireEvent(db, eventId));
}

export async function editEvent(db: Db, changes: SeatChanges, eventId: number, body: EventPatch, userId: number) {
  const values = parseEventPatch(body, new Date());
  const event = await requireEvent(db, eventId);
  await assertOwner(db, event, userId);
  // An admin edits on the owner's behalf: the guarded update still matches the owner's row. The
  // event.updated webhook commits with the edit (transactional outbox); the UPDATE is inventory's, so the
  // transaction is opened here rather than adding a CTE to it.
  const updated = await transaction(db, async (tx) => {
    const row = await updateEvent(tx, eventId, event.owner_id, values);
    if (row) await recordWebhookEvent(tx, 'event.updated', row, toEventOut(row));
    return row;
  });
  if (updated) {
    if (values.totalTickets !== undefined) changes.seatsReturned(eventId);
    if (values.maxPerUser !== undefined) changes.perUserLimitChanged(eventId);
    return toEventOut(updated);
  }
  // The guarded update matched nothing: find out which guard refused it.
  const current = await requireEvent(db, eventId);
  await assertOwner(db, current, userId);
  throw new BadRequest(`total_tickets cannot be below the ${current.tickets_sold} tickets already sold`);
}

export async function removeEvent(db: Db, changes: SeatChanges, eventId: number, userId: number): Promise<void> {
  const event = await requireEvent(db, eventId);
  await assertOwner(db, event, userId);
  if (await deleteUnsoldEvent(db, eventId, event.owner_id)) {
    // Live clients of the event re-read it, find it gone, and their streams end.
    changes.seatsChanged(eventId);
    return;
  }
  const current = await requireEvent(db, eventId);
  await assertOwner(db, current, userId);
  throw new BadRequest(`Cannot delete an event with ${current.tickets_sold} booked tickets; cancel them first`);
}

async function requireEvent(db: Db, eventId: number): Promise<EventRow> {
  const event = await findEvent(db, eventId);
  if (!event) throw new NotFound('Event not found');
  return event;
}

// Admins pass too; the role is read only when the caller is not the owner.
function assertOwner(db: Db, event: EventRow, userId: number): Promise<void> {
  return assertOwnerOrAdmin(db, event.owner_id, userId, 'Only the event owner can change it');
}
