import * as api from '../api';
import { announce, formBusy, h } from '../dom';
import { SalesBoard } from '../organizer';
import type { Shown } from '../router';
import { currentAccount, currentSession } from '../session';
import { handleFailure, onAccountChange } from '../shell';
import { eventForm } from './event-form';

const POLL_MS = 3_000;

/** My events with their sales moving live, links to manage each and to its door, and a form to create one. */
export function organizerView(): Shown {
  const list = h('ul', { id: 'sales', className: 'sales' });
  const note = h('p', { id: 'sales-mode', className: 'hint' });
  const board = new SalesBoard(list);
  const create = h('section', { className: 'panel', 'aria-labelledby': 'create-heading' });

  async function load(): Promise<void> {
    const session = currentSession();
    board.clear();
    if (!session) {
      note.textContent = 'Log in to organize events.';
      create.replaceChildren();
      return;
    }
    const account = currentAccount();
    create.replaceChildren(h('h2', { id: 'create-heading' }, 'Create an event'));
    if (account && !account.may_create_events) create.append(h('p', {}, 'Only organizers can create events on this box office; ask an admin to make you one.'));
    else create.append(form());
    try {
      const mine = await api.myEvents(session.token);
      note.textContent = mine.length === 0 ? 'Events you create appear here with their sales.' : 'Sales move live as tickets sell.';
      for (const event of mine) board.watch(event);
    } catch (error) {
      handleFailure(error, 'Loading your events');
    }
  }

  function form(): HTMLFormElement {
    return eventForm({
      id: 'create-form',
      submitLabel: 'Create event',
      onSubmit(body, created) {
        const session = currentSession();
        if (!session) return;
        void formBusy(created, () => api.createEvent(body, session.token))
          .then((event) => {
            created.reset();
            board.watch(event);
            note.textContent = 'Sales move live as tickets sell.';
            announce(`Event "${event.event_name}" created with ${event.total_tickets} tickets for sale.`, 'success');
          })
          .catch((error: unknown) => handleFailure(error, 'Creating the event'));
      },
    });
  }

  void load();
  const stopAccount = onAccountChange(() => void load());
  const timer = setInterval(() => {
    if (!document.hidden) void board.poll();
  }, POLL_MS);
  const element = h(
    'div',
    { className: 'layout' },
    h('section', { className: 'panel', 'aria-labelledby': 'organizer-heading' }, h('h2', { id: 'organizer-heading' }, 'My events'), note, list),
    h('div', { className: 'side' }, create),
  );
  return {
    title: 'Organizer',
    element,
    stop() {
      clearInterval(timer);
      stopAccount();
      board.clear();
    },
  };
}
