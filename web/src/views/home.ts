import * as api from '../api';
import { ApiError, type EventOut } from '../api';
import { Attempt } from '../attempt';
import { announce, byId, h } from '../dom';
import { EventList, seatsLeft } from '../events';
import { go, type Shown } from '../router';
import { currentSession } from '../session';
import { handleFailure, onAccountChange } from '../shell';
import { accountPanel } from './account';

const POLL_MS = 3_000;

/** Upcoming events (polled), one-click booking, and the account panel. */
export function homeView(): Shown {
  const list = h('ul', { id: 'events', className: 'cards' });
  const empty = h('p', { id: 'events-empty', className: 'hint', hidden: true }, 'No upcoming events yet.');
  const updated = h('p', { id: 'events-updated', className: 'hint' }, 'Loading events…');
  const attempts = new Map<number, Attempt>();

  const events: EventList = new EventList({
    list,
    empty,
    updated,
    signedIn: () => currentSession() !== null,
    onBook: (event) => void bookOne(event),
  });

  let unreachable = false;
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= api
      .upcomingEvents()
      .then((listed) => {
        unreachable = false;
        events.show(listed);
      })
      .catch(() => {
        // Said once when it starts failing, not at every poll.
        if (!unreachable) announce('Could not load the events; retrying every few seconds…', 'error');
        unreachable = true;
      })
      .finally(() => (refreshing = undefined)));

  /** Immediate purchase of one seat, one click. The key survives a failed try, so a retry cannot buy twice. */
  async function bookOne(event: EventOut): Promise<void> {
    const session = currentSession();
    if (!session) {
      announce(`Log in to book ${event.event_name}.`);
      byId('login-email').focus();
      return;
    }
    if (seatsLeft(event) === 0) return;
    const attempt = attempts.get(event.id) ?? new Attempt();
    attempts.set(event.id, attempt);
    events.setBusy(event.id, true);
    try {
      const ticket = await api.book(event.id, session.token, attempt.keyFor({ event_id: event.id }));
      attempt.settle();
      events.patch(ticket.event);
      announce(`Booked! Ticket #${ticket.id} for ${event.event_name}.`, 'success');
    } catch (error) {
      if (!api.isRetryable(error)) attempt.settle();
      if (error instanceof ApiError && error.status === 400 && /sold out/i.test(error.message)) {
        announce(`Sorry, ${event.event_name} is sold out.`, 'error');
        events.patch({ ...event, tickets_available: 0 });
      } else if (api.isQueueRefusal(error)) {
        // Waiting room (issue 14): into the event's line; the page moves on to buying once admitted.
        go(`/queue/${event.id}`);
      } else {
        handleFailure(error, 'Booking');
      }
    } finally {
      events.setBusy(event.id, false);
    }
    void refresh();
  }

  const account = accountPanel();
  const stopAccount = onAccountChange(() => events.render());
  void refresh();
  const tick = () => {
    if (!document.hidden) void refresh();
  };
  const timer = setInterval(tick, POLL_MS);
  // Back from another tab: fresh numbers at once rather than at the next tick.
  document.addEventListener('visibilitychange', tick);

  const element = h(
    'div',
    { className: 'layout' },
    h('section', { className: 'panel events', 'aria-labelledby': 'events-heading' }, h('h2', { id: 'events-heading' }, 'Upcoming events'), updated, list, empty),
    h('div', { className: 'side' }, account.element),
  );
  return {
    title: 'Upcoming events',
    element,
    stop() {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
      account.stop();
      stopAccount();
    },
  };
}
