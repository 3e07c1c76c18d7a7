import type { Ticket } from './api';
import { formatDate, h } from './dom';

export interface TicketListOptions {
  panel: HTMLElement;
  list: HTMLUListElement;
  note: HTMLElement;
  onCancel(ticket: Ticket, button: HTMLButtonElement): void;
}

/** "My tickets": from the server when it lists them, else the ones booked in this tab. */
export class TicketList {
  constructor(private readonly options: TicketListOptions) {}

  hide(): void {
    this.options.panel.hidden = true;
    this.options.list.replaceChildren();
  }

  show(tickets: Ticket[], source: 'server' | 'session'): void {
    const { panel, list, note } = this.options;
    panel.hidden = false;
    const sorted = [...tickets].sort((a, b) => Number(b.status === 'booked') - Number(a.status === 'booked') || b.id - a.id);
    note.textContent =
      tickets.length === 0
        ? 'No tickets yet: book one from the list of events.'
        : source === 'server'
          ? ''
          : 'Tickets booked in this browser tab (this server does not list older ones).';
    note.hidden = note.textContent === '';
    list.replaceChildren(...sorted.map((ticket) => this.item(ticket)));
  }

  private item(ticket: Ticket): HTMLLIElement {
    const booked = ticket.status === 'booked';
    const headingId = `ticket-${ticket.id}`;
    const item = h(
      'li',
      { className: `ticket ${booked ? 'booked' : 'cancelled'}`, 'aria-labelledby': headingId },
      h('h3', { id: headingId }, ticket.event.event_name),
      h('p', { className: 'meta' }, h('time', { datetime: ticket.event.date }, formatDate(ticket.event.date)), ` · Ticket #${ticket.id}`),
      h('p', { className: 'ticket-status' }, booked ? 'Booked' : 'Cancelled'),
    );
    item.dataset.ticketId = String(ticket.id);
    if (booked && ticket.code) item.append(h('p', { className: 'code' }, 'Check-in code ', h('code', {}, ticket.code)));
    if (booked) {
      const button = h('button', { type: 'button', className: 'secondary', 'aria-label': `Cancel ticket #${ticket.id} for ${ticket.event.event_name}` }, 'Cancel');
      button.addEventListener('click', () => this.options.onCancel(ticket, button));
      item.append(button);
    }
    return item;
  }
}
