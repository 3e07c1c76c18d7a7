import { invalidField } from '../errors.js';

// Dates as clients write them (events, the waiting room's times, list filters): one reading, one 422.

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** An ISO 8601 date or date-time (no offset means UTC); a 422 naming `loc` otherwise. */
export function parseIsoDate(text: string, loc: (string | number)[]): Date {
  const match = ISO_8601.exec(text.trim());
  if (!match) throw invalidField(loc, 'Input should be an ISO 8601 date-time', 'datetime_parsing');
  const [, year, month, day, hour = '00', minute = '00', second = '00', offset] = match;
  let iso = text.trim().replace(' ', 'T');
  if (match[4] === undefined) iso += 'T00:00:00';
  if (offset === undefined) iso += 'Z';
  else if (/^[+-]\d{2}$/.test(offset)) iso += ':00';
  else if (/^[+-]\d{4}$/.test(offset)) iso = iso.slice(0, -2) + ':' + iso.slice(-2);
  const date = new Date(iso);
  const fieldsValid =
    Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= daysIn(Number(year), Number(month)) &&
    Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59;
  if (!fieldsValid || Number.isNaN(date.getTime())) {
    throw invalidField(loc, 'Input should be a valid date-time', 'datetime_parsing');
  }
  return date;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
