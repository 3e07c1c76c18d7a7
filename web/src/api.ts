import type { paths } from '../../client/bookfast-api';

// The page calls the API it is served by (same origin), typed by the generated client/bookfast-api.d.ts.

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type EventOut = Json<paths['/events/{id}']['get']['responses'][200]>;
export type Ticket = Json<paths['/book']['post']['responses'][200]>;
type Token = Json<paths['/login']['post']['responses'][200]>;
type User = Json<paths['/register']['post']['responses'][200]>;
type EventCreate = NonNullable<paths['/events']['post']['requestBody']>['content']['application/json'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface RequestOptions {
  body?: unknown;
  token?: string | undefined;
  /** Waiting room (issue 14): the event whose Queue-Pass this request carries, when the page holds one. */
  passFor?: number | undefined;
}

// ---- Waiting room (issue 14): the passes this page holds, sent as Queue-Pass on purchases until they expire.
const queuePasses = new Map<number, { pass: string; expiresAt: number }>();

export function rememberQueuePass(eventId: number, pass: string, expiresAtIso: string): void {
  queuePasses.set(eventId, { pass, expiresAt: Date.parse(expiresAtIso) });
}

function queuePassOf(eventId: number | undefined): string | undefined {
  const held = eventId === undefined ? undefined : queuePasses.get(eventId);
  return held && held.expiresAt > Date.now() ? held.pass : undefined;
}
// ---- end waiting room

export async function request<T>(method: string, path: string, { body, token, passFor }: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const pass = queuePassOf(passFor);
  if (pass) headers['queue-pass'] = pass;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The box office is unreachable; check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, describeError(response.status, payload));
  return payload as T;
}

/** `{"detail": "..."}`, or FastAPI's list of field problems for a 422, as one readable sentence. */
function describeError(status: number, payload: unknown): string {
  const detail = (payload as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((issue: { loc?: unknown[]; msg?: string }) => `${String(issue.loc?.at(-1) ?? 'input')}: ${issue.msg ?? 'invalid'}`)
      .join('; ');
  }
  if (status === 429) return 'Too many attempts; wait a little and try again.';
  return `The server answered ${status}.`;
}

export function register(email: string, password: string): Promise<User> {
  return request('POST', '/register', { body: { email, password } });
}

export async function login(email: string, password: string): Promise<string> {
  return (await request<Token>('POST', '/login', { body: { username: email, password } })).access_token;
}

/** Revokes the token server-side where the API supports it; signing out locally never depends on it. */
export async function logout(token: string): Promise<void> {
  await request('POST', '/logout', { token }).catch(() => undefined);
}

const PAGE = 100;
const MAX_PAGES = 10;
// The API lists events by date, past ones first. How many past ones came before the first upcoming one at
// the last poll: the next poll starts at that page rather than walking the whole past again.
let pastBefore = 0;

function eventsPage(skip: number): Promise<EventOut[]> {
  return request<EventOut[]>('GET', `/events?skip=${skip}&limit=${PAGE}`);
}

/** Events from now on, soonest first. */
export async function upcomingEvents(now = Date.now()): Promise<EventOut[]> {
  let skip = Math.floor(pastBefore / PAGE) * PAGE;
  let batch = await eventsPage(skip);
  // Past events were deleted since: this page may start inside the upcoming ones, so start over.
  if (skip > 0 && (batch.length === 0 || Date.parse(batch[0]!.date) > now)) batch = await eventsPage((skip = 0));
  const listed = [...batch];
  for (let page = 1; page < MAX_PAGES && batch.length === PAGE; page++) {
    batch = await eventsPage(skip + page * PAGE);
    listed.push(...batch);
  }
  const firstUpcoming = listed.findIndex((event) => Date.parse(event.date) > now);
  pastBefore = skip + (firstUpcoming === -1 ? listed.length : firstUpcoming);
  return firstUpcoming === -1 ? [] : listed.slice(firstUpcoming);
}

export function getEvent(id: number): Promise<EventOut> {
  return request('GET', `/events/${id}`);
}

export function createEvent(body: EventCreate, token: string): Promise<EventOut> {
  return request('POST', '/events', { body, token });
}

export function book(eventId: number, token: string): Promise<Ticket> {
  return request('POST', '/book', { body: { event_id: eventId }, token, passFor: eventId });
}

export function cancelTicket(ticketId: number, token: string): Promise<Ticket> {
  return request('POST', `/tickets/${ticketId}/cancel`, { token });
}

/** My tickets from GET /tickets, or null when this server has no such route (older versions). */
export async function myTickets(token: string): Promise<Ticket[] | null> {
  let payload: unknown;
  try {
    // Newest first; the latest 100 are plenty for a box office.
    payload = await request('GET', '/tickets?limit=100', { token });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
  return Array.isArray(payload) ? (payload as Ticket[]) : null;
}
