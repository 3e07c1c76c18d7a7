import type { EventCreate, EventOut } from '../api';
import { announce, h } from '../dom';
import { field, formIsValid, labelled } from './forms';

// The organizer's event form, for creating and for editing: the four fields, the currency, and the sales
// settings (limits and hold minutes). Editing sends only what changed.

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'JPY', 'CAD', 'AUD'];

/** `2031-05-01T20:00` in the reader's time zone, as a datetime-local input wants it. */
function localInput(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function input(name: string, props: Record<string, string | number | boolean>): HTMLInputElement {
  return h('input', { name, ...props });
}

export function eventForm(options: { id: string; submitLabel: string; event?: EventOut; onSubmit(body: EventCreate, form: HTMLFormElement): void }): HTMLFormElement {
  const { event } = options;
  const currency = h('select', { name: 'currency' });
  // A new event may leave it to the server's CURRENCY setting (the first choice).
  const codes = [...new Set([event?.currency ?? '', ...CURRENCIES])];
  currency.replaceChildren(...codes.map((code) => h('option', { value: code }, code === '' ? 'Server default' : code)));
  currency.value = codes[0]!;
  const form = h(
    'form',
    { id: options.id, className: 'form', novalidate: true },
    labelled('Name', input('event_name', { maxlength: 200, required: true, value: event?.event_name ?? '' })),
    labelled('Date and time (your time zone)', input('date', { type: 'datetime-local', required: true, value: event ? localInput(event.date) : '' })),
    h(
      'div',
      { className: 'row' },
      labelled('Ticket price', input('ticket_price', { inputmode: 'decimal', placeholder: '50.00', required: true, pattern: '[0-9]{1,8}([.][0-9]{1,2})?', value: event?.ticket_price ?? '' })),
      labelled('Currency', currency),
    ),
    labelled('Tickets for sale', input('total_tickets', { type: 'number', min: 1, max: 1000000, step: 1, required: true, value: event?.total_tickets ?? '' })),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Sales limits'),
      labelled('Most seats per order', input('max_per_order', { type: 'number', min: 1, max: 100, step: 1, required: true, value: event?.max_per_order ?? 10 })),
      labelled('Most seats per buyer', input('max_per_user', { type: 'number', min: 1, max: 1000000, step: 1, value: event?.max_per_user ?? '' }), 'Leave empty for no limit.'),
      labelled('Hold minutes', input('hold_minutes', { type: 'number', min: 1, max: 1440, step: 1, required: true, value: event?.hold_minutes ?? 10 }), 'How long a hold keeps its seats before they go back on sale.'),
    ),
    h('button', { type: 'submit' }, options.submitLabel),
  );
  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    if (!formIsValid(form)) return;
    const localDate = new Date(field(form, 'date'));
    if (Number.isNaN(localDate.getTime())) return void announce('Date and time: enter a valid date.', 'error');
    const perUser = field(form, 'max_per_user');
    const body: EventCreate = {
      event_name: field(form, 'event_name'),
      date: localDate.toISOString(),
      ticket_price: field(form, 'ticket_price'),
      currency: field(form, 'currency') || undefined,
      total_tickets: Number(field(form, 'total_tickets')),
      max_per_order: Number(field(form, 'max_per_order')),
      max_per_user: perUser === '' ? null : Number(perUser),
      hold_minutes: Number(field(form, 'hold_minutes')),
    };
    options.onSubmit(body, form);
  });
  return form;
}

/** Only the fields an edit changed (an unchanged past date would be refused as "not in the future"). */
export function changedFields(event: EventOut, body: EventCreate): Partial<EventCreate> {
  const changes: Partial<EventCreate> = {};
  if (body.event_name !== event.event_name) changes.event_name = body.event_name;
  if (Date.parse(body.date) !== Date.parse(localInput(event.date))) changes.date = body.date;
  if (Number(body.ticket_price) !== Number(event.ticket_price)) changes.ticket_price = body.ticket_price;
  if (body.currency !== undefined && body.currency !== event.currency) changes.currency = body.currency;
  if (body.total_tickets !== event.total_tickets) changes.total_tickets = body.total_tickets;
  if (body.max_per_order !== event.max_per_order) changes.max_per_order = body.max_per_order;
  if (body.max_per_user !== event.max_per_user) changes.max_per_user = body.max_per_user;
  if (body.hold_minutes !== event.hold_minutes) changes.hold_minutes = body.hold_minutes;
  return changes;
}
