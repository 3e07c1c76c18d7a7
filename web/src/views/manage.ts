import * as api from '../api';
import { ApiError, type Attendees, type EventOut, type Stats } from '../api';
import { announce, formatDate, formBusy, h, plural, whileBusy } from '../dom';
import { money } from '../money';
import type { Shown } from '../router';
import { currentSession } from '../session';
import { handleFailure } from '../shell';
import { hourlySeries, salesChart } from './chart';
import { changedFields, eventForm } from './event-form';

const PAGE = 50;
const POLL_MS = 5_000;

/** One of my events: edit it, its stats with sales per hour, its attendees (CSV too), and a link to its door. */
export async function manageView({ id }: Record<string, string>): Promise<Shown> {
  const eventId = Number(id);
  const session = currentSession();
  if (!session) return { title: 'Manage', element: h('section', { className: 'panel' }, h('h2', {}, 'Manage an event'), h('p', {}, h('a', { href: '#/' }, 'Log in'), ' first.')) };
  let event: EventOut;
  try {
    event = await api.getEvent(eventId);
  } catch (error) {
    return { title: 'Manage', element: h('section', { className: 'panel' }, h('h2', {}, 'Event not found'), h('p', {}, error instanceof ApiError ? error.message : 'It could not be loaded.')) };
  }

  const heading = h('h2', { id: 'manage-heading' }, event.event_name);
  const statsBox = h('div', { id: 'stats' });
  const attendeesBox = h('div', { id: 'attendees' });
  let skip = 0;

  const edit = eventForm({
    id: 'edit-form',
    submitLabel: 'Save changes',
    event,
    onSubmit(body, form) {
      const changes = changedFields(event, body);
      if (Object.keys(changes).length === 0) return void announce('Nothing changed.');
      void formBusy(form, () => api.editEvent(eventId, changes, session.token))
        .then((saved) => {
          event = saved;
          heading.textContent = saved.event_name;
          announce(`Saved the changes to ${saved.event_name}.`, 'success');
          void loadStats();
        })
        .catch((error: unknown) => handleFailure(error, 'Saving'));
    },
  });

  async function loadStats(): Promise<void> {
    try {
      renderStats(await api.eventStats(eventId, session!.token));
    } catch (error) {
      handleFailure(error, 'Loading the stats');
    }
  }

  function renderStats(stats: Stats): void {
    const figure = (label: string, value: string) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
    const series = hourlySeries(stats);
    const chartTitle = 'sales-chart-title';
    statsBox.replaceChildren(
      h(
        'dl',
        { className: 'figures-grid' },
        figure('Sold', stats.sold.toLocaleString()),
        figure('Held', stats.held.toLocaleString()),
        figure('Available', stats.available.toLocaleString()),
        figure('Cancelled', stats.cancelled.toLocaleString()),
        figure('Checked in', stats.checked_in.toLocaleString()),
        figure('Revenue', money(stats.revenue, stats.currency)),
      ),
      h('h4', { id: chartTitle }, 'Tickets sold per hour'),
      series.length === 0
        ? h('p', { className: 'hint' }, 'No sales yet.')
        : h(
            'figure',
            {},
            salesChart(stats, chartTitle),
            h(
              'details',
              {},
              h('summary', {}, 'The numbers'),
              h(
                'table',
                {},
                h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Hour'), h('th', { scope: 'col' }, 'Sold'))),
                h('tbody', {}, ...series.map((point) => h('tr', {}, h('td', {}, formatDate(point.hour.toISOString())), h('td', {}, String(point.sold))))),
              ),
            ),
          ),
    );
  }

  async function loadAttendees(): Promise<void> {
    try {
      renderAttendees(await api.attendees(eventId, session!.token, skip, PAGE));
    } catch (error) {
      handleFailure(error, 'Loading the attendees');
    }
  }

  function renderAttendees(page: Attendees): void {
    const previous = h('button', { type: 'button', className: 'secondary', disabled: skip === 0 }, 'Previous page');
    const next = h('button', { type: 'button', className: 'secondary', disabled: page.attendees.length < PAGE }, 'Next page');
    previous.addEventListener('click', () => {
      skip = Math.max(0, skip - PAGE);
      void loadAttendees();
    });
    next.addEventListener('click', () => {
      skip += PAGE;
      void loadAttendees();
    });
    const rows = page.attendees.map((a) =>
      h(
        'tr',
        {},
        h('td', {}, String(a.ticket_id)),
        h('td', {}, a.email),
        h('td', {}, a.status),
        h('td', {}, a.checked_in_at ? formatDate(a.checked_in_at) : '–'),
      ),
    );
    attendeesBox.replaceChildren(
      page.attendees.length === 0
        ? h('p', { className: 'hint' }, skip === 0 ? 'Nobody has a ticket yet.' : 'No more attendees.')
        : h(
            'div',
            { className: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Attendees table' },
            h(
              'table',
              {},
              h('caption', {}, `Tickets ${skip + 1} to ${skip + page.attendees.length}`),
              h('thead', {}, h('tr', {}, ...['Ticket', 'Email', 'Status', 'Checked in'].map((label) => h('th', { scope: 'col' }, label)))),
              h('tbody', {}, ...rows),
            ),
          ),
      h('div', { className: 'actions' }, previous, next),
    );
  }

  const download = h('button', { type: 'button', id: 'download-csv' }, 'Download CSV');
  download.addEventListener('click', () => {
    void whileBusy(download, 'Preparing…', () => api.attendeesCsv(eventId, session.token))
      .then((csv) => {
        const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
        const anchor = h('a', { href: url, download: `event-${eventId}-attendees.csv`, hidden: true });
        document.body.append(anchor);
        anchor.click();
        anchor.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        announce(`Downloaded ${plural(csv.split('\r\n').length - 2, 'attendee', 'attendees')} as CSV.`, 'success');
      })
      .catch((error: unknown) => handleFailure(error, 'Downloading'));
  });

  await Promise.all([loadStats(), loadAttendees()]);
  const timer = setInterval(() => {
    if (!document.hidden) void loadStats();
  }, POLL_MS);

  const element = h(
    'div',
    { className: 'layout' },
    h(
      'div',
      { className: 'main-column' },
      h(
        'section',
        { className: 'panel', 'aria-labelledby': 'manage-heading' },
        h('p', {}, h('a', { href: '#/organizer' }, '← My events'), ' · ', h('a', { href: `#/door/${eventId}` }, 'Door: check tickets in')),
        heading,
        h('p', { className: 'meta' }, `${formatDate(event.date)} · ${money(event.ticket_price, event.currency)}`),
        h('h3', {}, 'Sales'),
        statsBox,
      ),
      h('section', { className: 'panel', 'aria-labelledby': 'attendees-heading' }, h('h3', { id: 'attendees-heading' }, 'Attendees'), download, attendeesBox),
    ),
    h('section', { className: 'panel side', 'aria-labelledby': 'edit-heading' }, h('h3', { id: 'edit-heading' }, 'Edit the event'), edit),
  );
  return { title: `Manage ${event.event_name}`, element, stop: () => clearInterval(timer) };
}
