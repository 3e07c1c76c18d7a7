import * as api from '../api';
import { ApiError, type Order, type WaitlistPlace } from '../api';
import { Attempt } from '../attempt';
import { announce, formatDate, h, plural, setText } from '../dom';
import { seatsLeft } from '../events';
import { money } from '../money';
import { go, type Shown } from '../router';
import { currentSession } from '../session';
import { handleFailure, onAccountChange } from '../shell';
import { accountPanel } from './account';
import { loadEvent } from './load-event';
import { holdPanel } from './hold';
import { labelled } from './forms';
import { roomDoor } from './queue';

const POLL_MS = 3_000;

/**
 * One event: buy several seats at once or hold them; when it is sold out, the waiting list, my place in it,
 * and the hold it offers me. Seats, my place and my holds are polled.
 */
export async function eventView({ id }: Record<string, string>): Promise<Shown> {
  const eventId = Number(id);
  const loaded = await loadEvent(eventId, 'Event');
  if ('shown' in loaded) return loaded.shown;
  let { event } = loaded;

  const seats = h('p', { className: 'seats', id: 'seats' });
  const buying = h('div', { id: 'buying' });
  const holds = h('div', { id: 'holds', className: 'holds' });
  const line = h('div', { id: 'waitlist' });
  const heading = h('h2', { id: 'event-heading' });
  const facts = h('p', { className: 'meta' });
  const attempt = new Attempt();
  const shownHolds = new Map<number, { element: HTMLElement; stop(): void }>();
  let place: WaitlistPlace | null = null;
  let busy = false;
  // Signed out, the page offers to log in or register right here.
  const account = accountPanel();
  // Waiting room (issue 14): while it asks for a pass and none is held here, the way into the line.
  const door = roomDoor(eventId, () => renderBuying());

  function renderFacts(): void {
    setText(heading, event.event_name);
    setText(facts, `${formatDate(event.date)} · ${money(event.ticket_price, event.currency)} a seat · up to ${plural(event.max_per_order, 'seat', 'seats')} per order`);
    const left = seatsLeft(event);
    setText(seats, left === 0 ? 'Sold out' : `${plural(left, 'seat', 'seats')} left of ${event.total_tickets.toLocaleString()}`);
    seats.classList.toggle('sold-out', left === 0);
  }

  /** The quantity form while seats are free; nothing to buy when sold out (the waiting list shows instead). */
  function renderBuying(): void {
    const session = currentSession();
    const left = seatsLeft(event);
    if (!session) return void buying.replaceChildren(h('p', {}, 'Log in or register to buy tickets.'), account.element);
    if (left === 0 || door.blocksBuying()) return void buying.replaceChildren();
    if (busy || buying.querySelector('form')) return updateQuantity(left);
    const most = Math.min(event.max_per_order, left);
    const quantity = h('select', { id: 'quantity', name: 'quantity' });
    const form = h(
      'form',
      { className: 'form buy', novalidate: true },
      labelled('How many seats', quantity, `Up to ${plural(event.max_per_order, 'seat', 'seats')} per order.`),
      h('div', { className: 'actions' }, h('button', { type: 'submit', value: 'buy' }, 'Buy now'), h('button', { type: 'submit', value: 'hold', className: 'secondary' }, 'Hold seats')),
    );
    fillQuantity(quantity, most);
    form.addEventListener('submit', (submit) => {
      submit.preventDefault();
      const hold = (submit.submitter as HTMLButtonElement | null)?.value === 'hold';
      void order(Number(quantity.value), hold, form);
    });
    buying.replaceChildren(form);
  }

  function fillQuantity(select: HTMLSelectElement, most: number): void {
    const chosen = Math.min(Number(select.value || 1), most);
    select.replaceChildren(...Array.from({ length: most }, (_, i) => h('option', { value: i + 1 }, String(i + 1))));
    select.value = String(Math.max(1, chosen));
  }

  function updateQuantity(left: number): void {
    const select = buying.querySelector<HTMLSelectElement>('#quantity');
    const most = Math.min(event.max_per_order, left);
    if (select && select.options.length !== most) fillQuantity(select, most);
  }

  async function order(quantity: number, hold: boolean, form: HTMLFormElement): Promise<void> {
    const session = currentSession();
    if (!session || busy) return;
    busy = true;
    const buttons = [...form.querySelectorAll('button')];
    for (const button of buttons) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const body = { event_id: eventId, quantity, hold };
    try {
      const placed = await api.placeOrder(body, session.token, attempt.keyFor(body));
      attempt.settle();
      event = placed.event;
      if (hold) {
        announce(`Held ${plural(quantity, 'seat', 'seats')} for ${event.event_name}. Confirm before the time runs out.`, 'success');
        showHold(placed);
      } else {
        announce(`Bought ${plural(placed.tickets.length, 'ticket', 'tickets')} for ${event.event_name}. They are in My tickets.`, 'success');
      }
    } catch (error) {
      if (!api.isRetryable(error)) attempt.settle();
      if (error instanceof ApiError && error.status === 400 && /sold out/i.test(error.message)) {
        announce(quantity === 1 ? `Sorry, ${event.event_name} is sold out.` : `Sorry, fewer than ${quantity} seats are left.`, 'error');
      } else if (api.isQueueRefusal(error)) {
        go(`/queue/${eventId}`);
      } else if (api.isRetryable(error)) {
        announce(`${(error as Error).message} Press the button again: it retries this same purchase, never a second one.`, 'error');
      } else {
        handleFailure(error, 'Buying');
      }
    } finally {
      busy = false;
      for (const button of buttons) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
    await refresh();
  }

  function showHold(pending: Order): void {
    if (shownHolds.has(pending.id)) return;
    const panel = holdPanel(pending, (done) => {
      panel.stop();
      panel.element.remove();
      shownHolds.delete(pending.id);
      event = done.event;
      void refresh();
    });
    shownHolds.set(pending.id, panel);
    holds.append(panel.element);
  }

  function renderLine(): void {
    const session = currentSession();
    if (!session || (seatsLeft(event) > 0 && !place)) return void line.replaceChildren();
    if (place) {
      const leave = h('button', { type: 'button', className: 'secondary' }, 'Leave the waiting list');
      leave.addEventListener('click', () => {
        void api
          .leaveWaitlist(eventId, session.token)
          .then(() => {
            place = null;
            announce(`You left the waiting list for ${event.event_name}.`);
            renderLine();
          })
          .catch((error: unknown) => handleFailure(error, 'Leaving the waiting list'));
      });
      return void line.replaceChildren(
        h('h3', {}, 'Waiting list'),
        h('p', { id: 'place' }, place.position === 1 ? 'You are next in line.' : `You are number ${place.position} in line.`),
        h('p', { className: 'hint' }, 'When a seat comes back it is held for you here (and in My tickets) for a limited time.'),
        leave,
      );
    }
    if (shownHolds.size > 0) return void line.replaceChildren();
    const join = h('button', { type: 'button' }, 'Join the waiting list');
    join.addEventListener('click', () => {
      join.disabled = true;
      void api
        .joinWaitlist(eventId, session.token)
        .then((joined) => {
          place = joined;
          announce(`You are number ${joined.position} in line for ${event.event_name}.`, 'success');
          renderLine();
          line.querySelector<HTMLButtonElement>('button')?.focus();
        })
        .catch((error: unknown) => {
          join.disabled = false;
          handleFailure(error, 'Joining the waiting list');
        });
    });
    line.replaceChildren(h('h3', {}, 'Sold out'), h('p', {}, 'Join the waiting list: when a seat comes back, it is held for the first in line.'), join);
  }

  async function refresh(): Promise<void> {
    const session = currentSession();
    try {
      const [fresh, mine, inLine] = await Promise.all([
        api.getEvent(eventId),
        session ? api.myOrders(session.token) : Promise.resolve([]),
        session ? api.myWaitlistPlace(eventId, session.token) : Promise.resolve(null),
        door.refresh(session?.token),
      ]);
      event = fresh;
      place = inLine;
      // A hold made here, or offered by the waiting list.
      for (const pending of mine.filter((o) => o.event_id === eventId && o.status === 'pending')) showHold(pending);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) handleFailure(error, 'Refreshing');
    }
    renderFacts();
    renderBuying();
    renderLine();
  }

  renderFacts();
  const stopAccount = onAccountChange(() => void refresh());
  await refresh();
  const timer = setInterval(() => {
    if (!document.hidden && !busy) void refresh();
  }, POLL_MS);

  const element = h(
    'section',
    { className: 'panel event-page', 'aria-labelledby': 'event-heading' },
    h('p', {}, h('a', { href: '#/' }, '← All events')),
    heading,
    facts,
    seats,
    holds,
    door.element,
    buying,
    line,
  );
  return {
    title: event.event_name,
    element,
    stop() {
      clearInterval(timer);
      stopAccount();
      account.stop();
      door.stop();
      for (const panel of shownHolds.values()) panel.stop();
    },
  };
}
