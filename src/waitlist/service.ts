import type { SeatChanges } from '../inventory/seat-changes.js';
import type { Db } from '../db/client.js';
import { Conflict, NotFound } from '../errors.js';
import { findPlace, joinWaitlist, leaveWaitlist, type WaitlistPlace } from './repository.js';
import type { WaitlistPlaceOut } from './schemas.js';

function toPlaceOut(place: WaitlistPlace): WaitlistPlaceOut {
  return {
    event_id: place.event_id,
    user_id: place.user_id,
    position: place.position,
    created_at: new Date(place.created_at).toISOString(),
  };
}

/** Puts me in line for a sold-out event (or one whose waiting room closed); answers my place in it. */
export async function joinLine(db: Db, changes: SeatChanges, eventId: number, userId: number): Promise<WaitlistPlaceOut> {
  const outcome = await joinWaitlist(db, eventId, userId);
  switch (outcome.kind) {
    case 'no-such-event':
      throw new NotFound('Event not found');
    case 'seats-available':
      throw new Conflict('Tickets are available: book them instead');
    case 'already-in-line':
      throw new Conflict('Already on the waiting list');
    case 'joined':
      // Behind a closed room free seats wait for the line: offer them now, in its order.
      if (outcome.seatsFree) changes.seatsReturned(eventId);
      break;
  }
  // Read after the commit; a seat may already have come back and turned my place into a hold.
  const place = await findPlace(db, eventId, userId);
  return place ? toPlaceOut(place) : { event_id: eventId, user_id: userId, position: 1, created_at: new Date().toISOString() };
}

export async function leaveLine(db: Db, changes: SeatChanges, eventId: number, userId: number): Promise<void> {
  if (!(await leaveWaitlist(db, eventId, userId))) throw new NotFound('Not on the waiting list');
  // A seat kept for me may now be for sale (or for the next in line): forget "sold out", offer it to the line.
  changes.seatsReturned(eventId);
}

export async function myPlace(db: Db, eventId: number, userId: number): Promise<WaitlistPlaceOut> {
  const place = await findPlace(db, eventId, userId);
  if (!place) throw new NotFound('Not on the waiting list');
  return toPlaceOut(place);
}
