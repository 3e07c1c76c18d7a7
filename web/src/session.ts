import type { Ticket } from './api';

// The sign-in lives in sessionStorage: it ends with the tab, and other tabs do not share it.

const TOKEN = 'bookfast.token';
const EMAIL = 'bookfast.email';

export interface Session {
  token: string;
  email: string;
}

export function currentSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN);
  const email = sessionStorage.getItem(EMAIL);
  return token && email ? { token, email } : null;
}

export function startSession(session: Session): void {
  sessionStorage.setItem(TOKEN, session.token);
  sessionStorage.setItem(EMAIL, session.email);
}

export function endSession(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EMAIL);
}

function readList<T>(key: string): T[] {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(key) ?? '[]');
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}

const ticketsKey = (email: string) => `bookfast.tickets.${email}`;
const eventsKey = (email: string) => `bookfast.events.${email}`;

/** Tickets booked in this tab: what "My tickets" shows when the server cannot list them. */
export function sessionTickets(email: string): Ticket[] {
  return readList<Ticket>(ticketsKey(email));
}

export function rememberTicket(email: string, ticket: Ticket): void {
  const others = sessionTickets(email).filter((known) => known.id !== ticket.id);
  sessionStorage.setItem(ticketsKey(email), JSON.stringify([ticket, ...others]));
}

/** Events created in this tab, whose sales the organizer panel follows. */
export function createdEvents(email: string): number[] {
  return readList<number>(eventsKey(email)).filter((id) => Number.isInteger(id));
}

export function rememberCreatedEvent(email: string, eventId: number): void {
  const ids = createdEvents(email).filter((id) => id !== eventId);
  sessionStorage.setItem(eventsKey(email), JSON.stringify([eventId, ...ids]));
}
