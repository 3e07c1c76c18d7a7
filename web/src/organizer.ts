import { getEvent, type EventOut } from './api';
import { formatDate, h, plural, setText } from './dom';

// A browser opens at most 6 connections to one server (HTTP/1.1); each live stream holds one for good, so
// only a few events are followed live and the rest are polled, leaving room for the page's own requests.
const MAX_STREAMS = 3;

interface Row {
  event: EventOut;
  item: HTMLLIElement;
  progress: HTMLProgressElement;
  figures: HTMLParagraphElement;
  mode: HTMLParagraphElement;
  stream?: EventSource | undefined;
}

interface Seats {
  tickets_sold: number;
  total_tickets: number;
  tickets_available?: number;
}

function isSeats(value: unknown): value is Seats {
  const seats = value as Partial<Seats> | null;
  return typeof seats?.tickets_sold === 'number' && typeof seats.total_tickets === 'number';
}

/**
 * The organizer's view of their events' sales. Follows each through its live stream
 * (GET /events/{id}/live, Server-Sent Events) where the server has one, else by polling.
 */
export class SalesBoard {
  private readonly rows = new Map<number, Row>();

  constructor(private readonly list: HTMLUListElement) {}

  watch(event: EventOut): void {
    if (this.rows.has(event.id)) return this.update(event.id, event);
    const progress = h('progress', { max: event.total_tickets, value: event.tickets_sold, 'aria-label': `Tickets sold for ${event.event_name}` });
    const figures = h('p', { className: 'figures' });
    const mode = h('p', { className: 'hint' }, 'Updated every few seconds');
    const links = h(
      'p',
      { className: 'links' },
      h('a', { href: `#/organizer/events/${event.id}`, 'aria-label': `Manage ${event.event_name}: edit, stats, attendees` }, 'Manage'),
      h('a', { href: `#/door/${event.id}`, 'aria-label': `Door for ${event.event_name}: check tickets in` }, 'Door'),
    );
    const item = h('li', { className: 'sale' }, h('h3', {}, event.event_name), h('p', { className: 'meta' }, formatDate(event.date)), progress, figures, mode, links);
    item.dataset.eventId = String(event.id);
    const row: Row = { event, item, progress, figures, mode };
    this.rows.set(event.id, row);
    this.list.append(item);
    this.render(row);
    if ([...this.rows.values()].filter((known) => known.stream).length < MAX_STREAMS) this.follow(row);
  }

  /** Polls the events whose live stream is not open (none on this server, or reconnecting). */
  async poll(): Promise<void> {
    const stale = [...this.rows.values()].filter((row) => row.stream?.readyState !== EventSource.OPEN);
    await Promise.all(stale.map(async (row) => this.update(row.event.id, await getEvent(row.event.id).catch(() => row.event))));
  }

  clear(): void {
    for (const row of this.rows.values()) row.stream?.close();
    this.rows.clear();
    this.list.replaceChildren();
  }

  private follow(row: Row): void {
    const stream = new EventSource(`/events/${row.event.id}/live`);
    row.stream = stream;
    stream.onopen = () => setText(row.mode, 'Live');
    stream.onmessage = (message: MessageEvent<string>) => {
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (isSeats(data)) this.update(row.event.id, { ...row.event, ...data, tickets_available: data.tickets_available ?? data.total_tickets - data.tickets_sold });
    };
    stream.onerror = () => {
      // CLOSED: the server has no stream for us (404, not an event stream); polling takes over for good.
      // Otherwise the browser is reconnecting by itself, and polling covers the gap.
      if (stream.readyState === EventSource.CLOSED) {
        stream.close();
        row.stream = undefined;
      }
      setText(row.mode, 'Updated every few seconds');
    };
  }

  private update(eventId: number, event: EventOut): void {
    const row = this.rows.get(eventId);
    if (!row) return;
    row.event = event;
    this.render(row);
  }

  private render(row: Row): void {
    const { event } = row;
    row.progress.max = event.total_tickets;
    row.progress.value = event.tickets_sold;
    const left = Math.max(0, event.tickets_available);
    setText(row.figures, `${plural(event.tickets_sold, 'ticket', 'tickets')} sold of ${event.total_tickets.toLocaleString()} · ${left === 0 ? 'sold out' : `${left.toLocaleString()} left`}`);
  }
}
