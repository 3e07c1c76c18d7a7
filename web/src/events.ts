import type { EventOut } from './api';
import { formatDate, h, plural, setText } from './dom';
import { money } from './money';

interface Card {
  item: HTMLLIElement;
  title: HTMLHeadingElement;
  when: HTMLTimeElement;
  price: HTMLSpanElement;
  seats: HTMLParagraphElement;
  button: HTMLButtonElement;
  details: HTMLAnchorElement;
}

export interface EventListOptions {
  list: HTMLUListElement;
  empty: HTMLElement;
  updated: HTMLElement;
  signedIn(): boolean;
  /** The buyer pressed Book (or "Log in to book" when signed out). */
  onBook(event: EventOut): void;
}

export function seatsLeft(event: EventOut): number {
  return Math.max(0, event.tickets_available ?? event.total_tickets - event.tickets_sold);
}

/**
 * The upcoming events as cards, updated in place on every poll so focus and screen-reader position survive
 * a refresh. A sold-out event says "Sold out" and its button is disabled.
 */
export class EventList {
  private events: EventOut[] = [];
  private readonly cards = new Map<number, Card>();
  private readonly busy = new Set<number>();

  constructor(private readonly options: EventListOptions) {}

  show(events: EventOut[]): void {
    this.events = events;
    this.render();
    setText(this.options.updated, `Seats left as of ${new Date().toLocaleTimeString()}; updates every few seconds.`);
  }

  /** A fresher copy of one event (from a booking's answer): show it without waiting for the next poll. */
  patch(event: EventOut): void {
    const index = this.events.findIndex((known) => known.id === event.id);
    if (index === -1) return;
    this.events[index] = event;
    this.render();
  }

  setBusy(eventId: number, busy: boolean): void {
    if (busy) this.busy.add(eventId);
    else this.busy.delete(eventId);
    this.render();
  }

  render(): void {
    const { list, empty } = this.options;
    const ids = this.events.map((event) => event.id);
    for (const [id, card] of this.cards) {
      if (!ids.includes(id)) {
        card.item.remove();
        this.cards.delete(id);
      }
    }
    for (const event of this.events) this.update(this.cards.get(event.id) ?? this.create(event), event);
    // Re-append only when the order changed: moving a node would drop the focus inside it.
    const shown = [...list.children].map((child) => Number((child as HTMLElement).dataset.eventId));
    if (shown.join() !== ids.join()) for (const id of ids) list.append(this.cards.get(id)!.item);
    empty.hidden = this.events.length > 0;
  }

  private create(event: EventOut): Card {
    const headingId = `event-${event.id}-name`;
    const title = h('h3', { id: headingId });
    const when = h('time');
    const price = h('span', { className: 'price' });
    const seats = h('p', { className: 'seats' });
    const button = h('button', { type: 'button' });
    button.addEventListener('click', () => {
      const current = this.events.find((known) => known.id === event.id);
      if (current) this.options.onBook(current);
    });
    // Several seats, a hold, or the waiting list: the event's own page.
    const details = h('a', { href: `#/events/${event.id}`, className: 'more' });
    const item = h('li', { className: 'card', 'aria-labelledby': headingId }, title, h('p', { className: 'meta' }, when, ' · ', price), seats, button, details);
    item.dataset.eventId = String(event.id);
    const card = { item, title, when, price, seats, button, details };
    this.cards.set(event.id, card);
    return card;
  }

  private update(card: Card, event: EventOut): void {
    const left = seatsLeft(event);
    const soldOut = left === 0;
    const busy = this.busy.has(event.id);
    setText(card.title, event.event_name);
    card.when.dateTime = event.date;
    setText(card.when, formatDate(event.date));
    setText(card.price, money(event.ticket_price, event.currency));
    const more = soldOut ? 'Join the waiting list' : 'Choose seats or hold them';
    setText(card.details, more);
    // The name starts with the visible words (WCAG 2.5.3), then says which event.
    if (card.details.getAttribute('aria-label') !== `${more}: ${event.event_name}`) card.details.setAttribute('aria-label', `${more}: ${event.event_name}`);
    setText(card.seats, soldOut ? 'Sold out' : `${plural(left, 'seat', 'seats')} left of ${event.total_tickets.toLocaleString()}`);
    card.seats.classList.toggle('sold-out', soldOut);
    card.item.classList.toggle('is-sold-out', soldOut);

    const { button } = card;
    let label: string;
    let name: string;
    if (soldOut) [label, name] = ['Sold out', `Sold out: ${event.event_name}`];
    else if (busy) [label, name] = ['Booking…', `Booking ${event.event_name}`];
    else if (this.options.signedIn()) [label, name] = ['Book', `Book ${event.event_name}`];
    else [label, name] = ['Log in to book', `Log in to book ${event.event_name}`];
    setText(button, label);
    if (button.getAttribute('aria-label') !== name) button.setAttribute('aria-label', name);
    button.disabled = soldOut || busy;
    button.toggleAttribute('aria-busy', busy);
  }
}
