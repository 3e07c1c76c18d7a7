import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export function uniqueEmail(prefix = 'buyer'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

export interface TestUser {
  id: number;
  email: string;
  token: string;
  auth: { authorization: string };
}

export async function registerAndLogin(app: FastifyInstance, email = uniqueEmail()): Promise<TestUser> {
  const password = 'correct horse battery';
  const registered = await app.inject({ method: 'POST', url: '/register', payload: { email, password } });
  if (registered.statusCode !== 200) throw new Error(`register failed: ${registered.body}`);
  const login = await app.inject({ method: 'POST', url: '/login', payload: { username: email, password } });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.body}`);
  const token = login.json<{ access_token: string }>().access_token;
  return { id: registered.json<{ id: number }>().id, email, token, auth: { authorization: `Bearer ${token}` } };
}

export function futureDate(daysAhead = 30): string {
  return new Date(Date.now() + daysAhead * 86_400_000).toISOString();
}

export interface EventBody {
  id: number;
  event_name: string;
  date: string;
  ticket_price: string;
  total_tickets: number;
  tickets_sold: number;
  tickets_available: number;
  max_per_order: number;
  max_per_user: number | null;
  hold_minutes: number;
  currency: string;
}

export async function createEvent(
  app: FastifyInstance,
  owner: TestUser,
  fields: Partial<Record<'event_name' | 'date' | 'ticket_price' | 'total_tickets' | 'max_per_order' | 'max_per_user' | 'hold_minutes' | 'currency', unknown>> = {},
): Promise<EventBody> {
  const response = await app.inject({
    method: 'POST',
    url: '/events',
    headers: owner.auth,
    payload: { event_name: 'Concert', date: futureDate(), ticket_price: '50.00', total_tickets: 100, ...fields },
  });
  if (response.statusCode !== 200) throw new Error(`create event failed: ${response.body}`);
  return response.json<EventBody>();
}

/** POST /book over a real connection; returns the status and body. */
export async function bookOverHttp(baseUrl: string, token: string, eventId: number) {
  const response = await fetch(`${baseUrl}/book`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: eventId }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
