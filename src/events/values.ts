import { invalidField } from '../errors.js';
import { currencyCode } from '../currency.js';
import { parseIsoDate } from '../shapes/dates.js';
import type { EventCreate, EventPatch } from './schemas.js';
import type { EventValues } from '../db/rows.js';

// Rules the JSON schema cannot state: a trimmed name, a real future date, a price with two decimals.

// Sales settings' ranges are all in the JSON schema; maxPerUser null means "no limit".
export type { EventValues };

/** A new event's values: the four fields and the currency are set, the sales settings keep their defaults when absent. */
export type NewEventValues = EventValues & Required<Pick<EventValues, 'eventName' | 'date' | 'ticketPrice' | 'totalTickets' | 'currency'>>;

export function parseEventCreate(body: EventCreate, now: Date, defaultCurrency: string): NewEventValues {
  const values = parseEventPatch(body, now);
  return { ...values, currency: values.currency ?? defaultCurrency } as NewEventValues;
}

export function parseEventPatch(body: EventPatch, now: Date): EventValues {
  const values: EventValues = {};
  if (body.event_name !== undefined) values.eventName = parseName(body.event_name);
  if (body.date !== undefined) values.date = parseFutureDate(body.date, now);
  if (body.ticket_price !== undefined) values.ticketPrice = parsePrice(body.ticket_price);
  if (body.currency !== undefined) values.currency = parseCurrency(body.currency);
  if (body.total_tickets !== undefined) values.totalTickets = body.total_tickets;
  if (body.max_per_order !== undefined) values.maxPerOrder = body.max_per_order;
  if (body.max_per_user !== undefined) values.maxPerUser = body.max_per_user;
  if (body.hold_minutes !== undefined) values.holdMinutes = body.hold_minutes;
  return values;
}

function parseName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw invalidField(['body', 'event_name'], 'String should have at least 1 character', 'string_too_short');
  return trimmed;
}

function parseFutureDate(text: string, now: Date): Date {
  const date = parseIsoDate(text, ['body', 'date']);
  if (date.getTime() <= now.getTime()) throw invalidField(['body', 'date'], 'Date should be in the future', 'datetime_future');
  return date;
}

function parseCurrency(text: string): string {
  const code = currencyCode(text);
  if (code === undefined) throw invalidField(['body', 'currency'], 'Input should be an ISO 4217 currency code such as EUR', 'currency_code');
  return code;
}

function parsePrice(price: number | string): string {
  const text = typeof price === 'number' ? String(price) : price;
  const match = /^(\d{1,8})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) throw invalidField(['body', 'ticket_price'], 'Decimal should have at most 2 decimal places and 8 digits before the point', 'decimal_max_places');
  const normalized = `${match[1]}.${(match[2] ?? '').padEnd(2, '0')}`;
  if (Number(normalized) <= 0) throw invalidField(['body', 'ticket_price'], 'Input should be greater than 0', 'greater_than');
  return normalized;
}
