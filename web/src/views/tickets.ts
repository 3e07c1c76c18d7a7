import * as api from '../api';
import type { Order, Ticket } from '../api';
import { announce, confirmStep, formatDate, h, plural, whileBusy } from '../dom';
import { money } from '../money';
import type { Shown } from '../router';
import { currentSession } from '../session';
import { handleFailure, onAccountChange } from '../shell';
import { holdPanel } from './hold';

/** My holds (with their countdown), my orders, and my tickets with their QR codes; cancelling asks first. */
export function ticketsView(): Shown {
  const holds = h('div', { id: 'my-holds', className: 'holds' });
  const orders = h('ul', { id: 'orders', className: 'tickets' });
  const tickets = h('ul', { id: 'tickets', className: 'tickets' });
  const note = h('p', { id: 'tickets-note', className: 'hint' });
  const ordersNote = h('p', { className: 'hint' }, 'Orders of several seats, and confirmed holds, appear here.');
  const stops: (() => void)[] = [];
  // QR images by ticket id, fetched once per ticket for the life of the view.
  const qrCache = new Map<number, Promise<string>>();

  async function load(): Promise<void> {
    const session = currentSession();
    for (const stop of stops.splice(0)) stop();
    if (!session) {
      note.textContent = 'Log in to see your tickets.';
      holds.replaceChildren();
      orders.replaceChildren();
      tickets.replaceChildren();
      return;
    }
    try {
      const [myOrders, myTickets] = await Promise.all([api.myOrders(session.token), api.myTickets(session.token)]);
      const pending = myOrders.filter((order) => order.status === 'pending');
      holds.replaceChildren(
        ...pending.map((order) => {
          const panel = holdPanel(order, () => void load());
          stops.push(panel.stop);
          return panel.element;
        }),
      );
      const done = myOrders.filter((order) => order.status !== 'pending');
      orders.replaceChildren(...done.map(orderItem));
      ordersNote.hidden = done.length > 0;
      const sorted = [...myTickets].sort((a, b) => Number(b.status === 'booked') - Number(a.status === 'booked') || b.id - a.id);
      tickets.replaceChildren(...sorted.map((ticket) => ticketItem(ticket)));
      note.textContent = myTickets.length === 0 && myOrders.length === 0 ? 'No tickets yet: buy some from the list of events.' : '';
      note.hidden = note.textContent === '';
    } catch (error) {
      handleFailure(error, 'Loading your tickets');
    }
  }

  function orderItem(order: Order): HTMLLIElement {
    const name = order.event.event_name;
    const headingId = `order-${order.id}`;
    const state = orderState(order);
    const item = h(
      'li',
      { className: `ticket ${state.live ? 'booked' : 'cancelled'}`, 'aria-labelledby': headingId },
      h('h3', { id: headingId }, `Order #${order.id}: ${name}`),
      h('p', { className: 'meta' }, `${plural(order.quantity, 'seat', 'seats')} · ${money(order.total_price, order.event.currency)} · ${formatDate(order.created_at)}`),
      h('p', { className: 'ticket-status' }, state.label),
    );
    item.dataset.orderId = String(order.id);
    // The API refuses to cancel an order with a ticket used at the door; offer only what it accepts.
    if (state.live && !order.tickets.some((ticket) => ticket.checked_in_at)) {
      const cancel = h('button', { type: 'button', className: 'secondary', 'aria-label': `Cancel order #${order.id} for ${name}` }, 'Cancel order');
      cancel.addEventListener('click', () => {
        void confirmStep(`Cancel order #${order.id} (${plural(order.quantity, 'seat', 'seats')} for ${name})? Its tickets stop working and the seats go back on sale.`, 'Cancel the order').then(
          async (yes) => {
            const session = currentSession();
            if (!yes || !session) return;
            try {
              await whileBusy(cancel, 'Cancelling…', () => api.cancelOrder(order.id, session.token));
              announce(`Order #${order.id} cancelled; its seats are back on sale.`, 'success');
            } catch (error) {
              handleFailure(error, 'Cancelling');
            }
            await load();
          },
        );
      });
      item.append(cancel);
    }
    return item;
  }

  function ticketItem(ticket: Ticket): HTMLLIElement {
    const booked = ticket.status === 'booked';
    const name = ticket.event.event_name;
    const headingId = `ticket-${ticket.id}`;
    const item = h(
      'li',
      { className: `ticket ${booked ? 'booked' : 'cancelled'}`, 'aria-labelledby': headingId },
      h('h3', { id: headingId }, name),
      h('p', { className: 'meta' }, h('time', { datetime: ticket.event.date }, formatDate(ticket.event.date)), ` · Ticket #${ticket.id}`),
      h('p', { className: 'ticket-status' }, booked ? (ticket.checked_in_at ? `Admitted at ${formatDate(ticket.checked_in_at)}` : 'Booked') : 'Cancelled'),
    );
    item.dataset.ticketId = String(ticket.id);
    if (!booked) return item;
    const qr = h('img', { className: 'qr', alt: `QR code of ticket #${ticket.id} for ${name}`, width: 160, height: 160 });
    item.append(qr, h('p', { className: 'code' }, 'Check-in code ', h('code', {}, ticket.code)));
    void qrFor(ticket.id).then((svg) => (qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`)).catch(() => qr.remove());
    // A ticket used at the door cannot be cancelled (the API answers 409): no button that can only fail.
    if (ticket.checked_in_at) return item;
    const cancel = h('button', { type: 'button', className: 'secondary', 'aria-label': `Cancel ticket #${ticket.id} for ${name}` }, 'Cancel');
    cancel.addEventListener('click', () => {
      void confirmStep(`Cancel ticket #${ticket.id} for ${name}? It stops working and the seat goes back on sale.`, 'Cancel the ticket').then(async (yes) => {
        const session = currentSession();
        if (!yes || !session) return;
        try {
          await whileBusy(cancel, 'Cancelling…', () => api.cancelTicket(ticket.id, session.token));
          announce(`Ticket #${ticket.id} cancelled; the seat is back on sale.`, 'success');
        } catch (error) {
          handleFailure(error, 'Cancelling');
        }
        await load();
      });
    });
    item.append(cancel);
    return item;
  }

  function qrFor(ticketId: number): Promise<string> {
    const session = currentSession();
    if (!session) return Promise.reject(new Error('signed out'));
    let svg = qrCache.get(ticketId);
    if (!svg) qrCache.set(ticketId, (svg = api.ticketQrSvg(ticketId, session.token)));
    return svg;
  }

  void load();
  const stopAccount = onAccountChange(() => void load());
  const element = h(
    'section',
    { className: 'panel', 'aria-labelledby': 'tickets-heading' },
    h('h2', { id: 'tickets-heading' }, 'My tickets'),
    note,
    holds,
    h('h3', {}, 'Tickets'),
    tickets,
    h('h3', {}, 'Orders'),
    ordersNote,
    orders,
  );
  return {
    title: 'My tickets',
    element,
    stop() {
      stopAccount();
      for (const stop of stops) stop();
    },
  };
}

/** What is true of an order now: a confirmed order whose tickets were cancelled one by one is not whole. */
export function orderState(order: Order): { label: string; live: boolean } {
  if (order.status !== 'confirmed') return { label: order.status[0]!.toUpperCase() + order.status.slice(1), live: false };
  const cancelled = order.tickets.filter((ticket) => ticket.status === 'cancelled').length;
  if (cancelled === 0) return { label: 'Confirmed', live: true };
  if (cancelled === order.tickets.length) return { label: 'Cancelled', live: false };
  return { label: `Partly cancelled (${cancelled} of ${plural(order.tickets.length, 'seat', 'seats')})`, live: true };
}
