import type { paths } from '../../client/bookfast-api';

// The page calls the API it is served by (same origin), typed by the generated client/bookfast-api.d.ts.

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Body<P extends keyof paths, M extends 'post' | 'patch'> = NonNullable<paths[P][M] extends { requestBody?: infer B } ? B : never> extends {
  content: { 'application/json': infer T };
}
  ? T
  : never;
export type EventOut = Json<paths['/events/{id}']['get']['responses'][200]>;
export type Ticket = Json<paths['/book']['post']['responses'][200]>;
export type Order = Json<paths['/orders']['post']['responses'][200]>;
export type Account = Json<paths['/me']['get']['responses'][200]>;
export type Stats = Json<paths['/events/{id}/stats']['get']['responses'][200]>;
export type Attendees = Json<paths['/events/{id}/attendees']['get']['responses'][200]>;
export type WaitlistPlace = Json<paths['/events/{id}/waitlist']['post']['responses'][201]>;
export type QueueEntry = Json<paths['/events/{id}/queue/me']['get']['responses'][200]>;
export type WaitingRoom = Json<paths['/events/{id}/waiting-room']['get']['responses'][200]>;
export type EventCreate = Body<'/events', 'post'>;
export type EventPatch = Body<'/events/{id}', 'patch'>;
type Token = Json<paths['/login']['post']['responses'][200]>;
type User = Json<paths['/register']['post']['responses'][200]>;

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
  idempotencyKey?: string | undefined;
  accept?: string;
  /** A purchase on this event: it carries the event's Queue-Pass while the page holds an unexpired one. */
  passFor?: number | undefined;
}

async function send(method: string, path: string, { body, token, idempotencyKey, accept = 'application/json', passFor }: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept };
  const pass = passFor === undefined ? null : heldQueuePass(passFor);
  if (pass) headers['queue-pass'] = pass.pass;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The box office is unreachable; check your connection and try again.');
  }
  if (!response.ok) throw new ApiError(response.status, describeError(response.status, await response.json().catch(() => null)));
  return response;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json().catch(() => null)) as T;
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

/** True when the request may have reached the server without us hearing the answer: retry with the same key. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 0 || error.status >= 500 || error.status === 409 && /in progress/i.test(error.message));
}

// ---- account ----

export function register(email: string, password: string): Promise<User> {
  return request('POST', '/register', { body: { email, password } });
}

export async function login(email: string, password: string): Promise<string> {
  return (await request<Token>('POST', '/login', { body: { username: email, password } })).access_token;
}

/** The answer, or null when the API says 404 (there is none); any other failure still throws. */
async function orNullOn404<T>(answer: Promise<T>): Promise<T | null> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Who I am and what I may do; null on an older server without GET /me. */
export function me(token: string): Promise<Account | null> {
  return orNullOn404(request<Account>('GET', '/me', { token }));
}

/** Revokes the token server-side where the API supports it; signing out locally never depends on it. */
export async function logout(token: string): Promise<void> {
  await request('POST', '/logout', { token }).catch(() => undefined);
}

// ---- events ----

const PAGE = 100;
const MAX_PAGES = 10;

/** Events from now on, soonest first (GET /events?upcoming=true, a page of 100 at a time). */
export async function upcomingEvents(): Promise<EventOut[]> {
  const listed: EventOut[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const batch = await request<EventOut[]>('GET', `/events?upcoming=true&skip=${page * PAGE}&limit=${PAGE}`);
    listed.push(...batch);
    if (batch.length < PAGE) break;
  }
  return listed;
}

export function getEvent(id: number): Promise<EventOut> {
  return request('GET', `/events/${id}`);
}

export function createEvent(body: EventCreate, token: string): Promise<EventOut> {
  return request('POST', '/events', { body, token });
}

export function editEvent(id: number, body: EventPatch, token: string): Promise<EventOut> {
  return request('PATCH', `/events/${id}`, { body, token });
}

// ---- buying ----

export function book(eventId: number, token: string, idempotencyKey: string): Promise<Ticket> {
  return request('POST', '/book', { body: { event_id: eventId }, token, idempotencyKey, passFor: eventId });
}

export function placeOrder(body: { event_id: number; quantity: number; hold: boolean }, token: string, idempotencyKey: string): Promise<Order> {
  return request('POST', '/orders', { body, token, idempotencyKey, passFor: body.event_id });
}

/** `eventId`: the order's event, whose Queue-Pass the confirm carries while the page holds one. */
export function confirmOrder(id: number, token: string, eventId?: number): Promise<Order> {
  return request('POST', `/orders/${id}/confirm`, { token, passFor: eventId });
}

export function cancelOrder(id: number, token: string): Promise<Order> {
  return request('POST', `/orders/${id}/cancel`, { token });
}

export function myOrders(token: string): Promise<Order[]> {
  return request('GET', '/orders?limit=100', { token });
}

export function myTickets(token: string): Promise<Ticket[]> {
  return request('GET', '/tickets?limit=100', { token });
}

export function cancelTicket(ticketId: number, token: string): Promise<Ticket> {
  return request('POST', `/tickets/${ticketId}/cancel`, { token });
}

/** The ticket's QR code as SVG text (the route needs the bearer token, so an <img src> cannot fetch it). */
export async function ticketQrSvg(ticketId: number, token: string): Promise<string> {
  return (await send('GET', `/tickets/${ticketId}/qr.svg`, { token, accept: 'image/svg+xml' })).text();
}

// ---- waiting list ----

export function joinWaitlist(eventId: number, token: string): Promise<WaitlistPlace> {
  return request('POST', `/events/${eventId}/waitlist`, { token });
}

/** My place in line, or null when I am not in it (never joined, left, or given a hold). */
export function myWaitlistPlace(eventId: number, token: string): Promise<WaitlistPlace | null> {
  return orNullOn404(request<WaitlistPlace>('GET', `/events/${eventId}/waitlist/me`, { token }));
}

export function leaveWaitlist(eventId: number, token: string): Promise<void> {
  return request('DELETE', `/events/${eventId}/waitlist`, { token });
}

// ---- waiting room ----

// The passes this page holds, by event: sent as Queue-Pass on that event's purchases until they expire.
// Kept in memory only: after a reload, GET /events/{id}/queue/me hands the same pass out again.
const queuePasses = new Map<number, { pass: string; expiresAt: number }>();

export function rememberQueuePass(entry: QueueEntry): void {
  if (entry.pass && entry.pass_expires_at) queuePasses.set(entry.event_id, { pass: entry.pass, expiresAt: Date.parse(entry.pass_expires_at) });
}

/** The event's pass while it is unexpired, with its expiry (ms), or null. */
export function heldQueuePass(eventId: number): { pass: string; expiresAt: number } | null {
  const held = queuePasses.get(eventId);
  return held && held.expiresAt > Date.now() ? held : null;
}

/** The 403s of a waiting room: no valid pass yet, or the sale not open yet. */
export function isQueueRefusal(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && /queue pass is required|not on sale yet/i.test(error.message);
}

/** The event's waiting room, or null when it has none. */
export function waitingRoom(eventId: number): Promise<WaitingRoom | null> {
  return orNullOn404(request<WaitingRoom>('GET', `/events/${eventId}/waiting-room`));
}

/** Joins the line (once per account: joining again answers the same place). */
export function joinQueue(eventId: number, token: string): Promise<QueueEntry> {
  return request('POST', `/events/${eventId}/queue`, { token });
}

/** My place in line (polling it is also how the room knows I am still here), or null when not in line. */
export function myQueuePlace(eventId: number, token: string): Promise<QueueEntry | null> {
  return orNullOn404(request<QueueEntry>('GET', `/events/${eventId}/queue/me`, { token }));
}

// ---- organizers ----

export function myEvents(token: string): Promise<EventOut[]> {
  return request('GET', '/me/events?limit=100', { token });
}

export function eventStats(id: number, token: string): Promise<Stats> {
  return request('GET', `/events/${id}/stats`, { token });
}

export function attendees(id: number, token: string, skip = 0, limit = 100): Promise<Attendees> {
  return request('GET', `/events/${id}/attendees?skip=${skip}&limit=${limit}`, { token });
}

/** Every attendee as one CSV (pages of 1000 joined, one header row). */
export async function attendeesCsv(id: number, token: string): Promise<string> {
  const LIMIT = 1000;
  let csv = '';
  for (let skip = 0; ; skip += LIMIT) {
    const page = await (await send('GET', `/events/${id}/attendees?skip=${skip}&limit=${LIMIT}`, { token, accept: 'text/csv' })).text();
    const lines = page.split('\r\n').filter(Boolean);
    csv += (skip === 0 ? lines : lines.slice(1)).map((line) => `${line}\r\n`).join('');
    if (lines.length - 1 < LIMIT) return csv;
  }
}

export function checkIn(eventId: number, code: string, token: string): Promise<Ticket> {
  return request('POST', `/events/${eventId}/check-in`, { body: { code }, token });
}
