import * as api from './api';
import { ApiError, type EventOut, type Ticket } from './api';
import { announce, byId, formBusy, whileBusy } from './dom';
import { EventList, seatsLeft } from './events';
import { SalesBoard } from './organizer';
import { createdEvents, currentSession, endSession, rememberCreatedEvent, rememberTicket, sessionTickets, startSession } from './session';
import { TicketList } from './tickets';
import { isQueueRefusal, QueueView } from './queue'; // waiting room (issue 14)

const POLL_MS = 3_000;

const events = new EventList({
  list: byId<HTMLUListElement>('events'),
  empty: byId('events-empty'),
  updated: byId('events-updated'),
  signedIn: () => currentSession() !== null,
  onBook: (event) => void bookEvent(event),
});
const tickets = new TicketList({
  panel: byId('tickets-panel'),
  list: byId<HTMLUListElement>('tickets'),
  note: byId('tickets-note'),
  onCancel: (ticket, button) => void cancel(ticket, button),
});
const sales = new SalesBoard(byId<HTMLUListElement>('sales'));
const queue = new QueueView(); // waiting room (issue 14)

const loginForm = byId<HTMLFormElement>('login-form');
const registerForm = byId<HTMLFormElement>('register-form');
const createForm = byId<HTMLFormElement>('create-form');

function field(form: HTMLFormElement, name: string, trim = true): string {
  const value = String(new FormData(form).get(name) ?? '');
  // A password is used exactly as typed.
  return trim ? value.trim() : value;
}

/** The browser's own checks (required, minlength...) first; the first problem is announced and focused. */
function formIsValid(form: HTMLFormElement): boolean {
  const invalid = [...form.elements].find((el): el is HTMLInputElement => el instanceof HTMLInputElement && !el.checkValidity());
  if (!invalid) return true;
  const label = form.querySelector(`label[for="${invalid.id}"]`)?.textContent ?? invalid.name;
  announce(`${label}: ${invalid.validationMessage}`, 'error');
  invalid.focus();
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** A 401 means the token expired or was revoked: sign out here too, and say so. */
function handleFailure(error: unknown, doing: string): void {
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    announce('Your session has ended; please log in again.', 'error');
    return;
  }
  announce(`${doing} failed: ${describe(error)}`, 'error');
}

// ---- events ----

let refreshing: Promise<void> | undefined;
let eventsUnreachable = false;
function refreshEvents(): Promise<void> {
  refreshing ??= api
    .upcomingEvents()
    .then((list) => {
      eventsUnreachable = false;
      events.show(list);
    })
    .catch(() => {
      // Said once when it starts failing, not at every poll.
      if (!eventsUnreachable) announce('Could not load the events; retrying every few seconds…', 'error');
      eventsUnreachable = true;
    })
    .finally(() => (refreshing = undefined));
  return refreshing;
}

async function bookEvent(event: EventOut): Promise<void> {
  const session = currentSession();
  if (!session) {
    announce(`Log in to book ${event.event_name}.`);
    byId('login-email').focus();
    return;
  }
  if (seatsLeft(event) === 0) return;
  events.setBusy(event.id, true);
  try {
    const ticket = await api.book(event.id, session.token);
    rememberTicket(session.email, ticket);
    events.patch(ticket.event);
    announce(`Booked! Ticket #${ticket.id} for ${event.event_name}.`, 'success');
    await refreshTickets();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400 && /sold out/i.test(error.message)) {
      announce(`Sorry, ${event.event_name} is sold out.`, 'error');
      events.patch({ ...event, tickets_available: 0 });
    } else if (isQueueRefusal(error)) {
      // Waiting room (issue 14): the queue view joins the line and books again by itself once admitted.
      void queue.enter(event, session.token, () => void bookEvent(event));
    } else {
      handleFailure(error, 'Booking');
    }
  } finally {
    events.setBusy(event.id, false);
  }
  void refreshEvents();
}

// ---- tickets ----

async function refreshTickets(): Promise<void> {
  const session = currentSession();
  if (!session) return tickets.hide();
  try {
    const fromServer = await api.myTickets(session.token);
    if (fromServer) tickets.show(fromServer, 'server');
    else tickets.show(sessionTickets(session.email), 'session');
  } catch (error) {
    handleFailure(error, 'Loading your tickets');
    if (currentSession()) tickets.show(sessionTickets(session.email), 'session');
  }
}

async function cancel(ticket: Ticket, button: HTMLButtonElement): Promise<void> {
  const session = currentSession();
  if (!session) return;
  try {
    const cancelled = await whileBusy(button, 'Cancelling…', () => api.cancelTicket(ticket.id, session.token));
    rememberTicket(session.email, cancelled);
    announce(`Ticket #${ticket.id} cancelled; the seat is back on sale.`, 'success');
    events.patch(cancelled.event);
  } catch (error) {
    handleFailure(error, 'Cancelling');
  }
  await refreshTickets();
  void refreshEvents();
}

// ---- account ----

function showAccount(): void {
  const session = currentSession();
  byId('signed-out').hidden = session !== null;
  byId('signed-in').hidden = session === null;
  byId('organizer-panel').hidden = session === null;
  byId('account-email').textContent = session?.email ?? '';
  byId('whoami').textContent = session ? `Signed in as ${session.email}` : 'Not signed in';
  events.render();
}

async function signIn(email: string, password: string): Promise<void> {
  const token = await api.login(email, password);
  startSession({ token, email });
  showAccount();
  await Promise.all([refreshTickets(), followCreatedEvents()]);
}

function signOut(): void {
  queue.leave(); // waiting room (issue 14)
  endSession();
  sales.clear();
  tickets.hide();
  showAccount();
}

loginForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  if (!formIsValid(loginForm)) return;
  // Read before formBusy: disabled controls are left out of FormData.
  const [email, password] = [field(loginForm, 'email'), field(loginForm, 'password', false)];
  void formBusy(loginForm, () => signIn(email, password))
    .then(() => {
      loginForm.reset();
      announce(`Welcome, ${email}. You are logged in.`, 'success');
      byId('events-heading').focus();
    })
    .catch((error: unknown) => announce(`Log in failed: ${describe(error)}`, 'error'));
});

registerForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  if (!formIsValid(registerForm)) return;
  const [email, password] = [field(registerForm, 'email'), field(registerForm, 'password', false)];
  void formBusy(registerForm, () => api.register(email, password))
    .then(() => {
      registerForm.reset();
      byId<HTMLInputElement>('login-email').value = email;
      announce(`Account created for ${email}. Log in with your password.`, 'success');
      byId('login-password').focus();
    })
    .catch((error: unknown) => announce(`Registration failed: ${describe(error)}`, 'error'));
});

byId('logout').addEventListener('click', () => {
  const session = currentSession();
  signOut();
  announce('You are logged out.');
  if (session) void api.logout(session.token);
});

// ---- organizer ----

async function followCreatedEvents(): Promise<void> {
  const session = currentSession();
  if (!session) return;
  const known = await Promise.all(createdEvents(session.email).map((id) => api.getEvent(id).catch(() => null)));
  for (const event of known.reverse()) if (event) sales.watch(event);
}

createForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const session = currentSession();
  if (!session || !formIsValid(createForm)) return;
  const localDate = new Date(field(createForm, 'date'));
  if (Number.isNaN(localDate.getTime())) return void announce('Date and time: enter a valid date.', 'error');
  const body = {
    event_name: field(createForm, 'event_name'),
    date: localDate.toISOString(),
    ticket_price: field(createForm, 'ticket_price'),
    total_tickets: Number(field(createForm, 'total_tickets')),
  };
  void formBusy(createForm, () => api.createEvent(body, session.token))
    .then((event) => {
      createForm.reset();
      rememberCreatedEvent(session.email, event.id);
      sales.watch(event);
      announce(`Event "${event.event_name}" created with ${event.total_tickets} tickets for sale.`, 'success');
      void refreshEvents();
    })
    .catch((error: unknown) => handleFailure(error, 'Creating the event'));
});

// ---- start ----

function tick(): void {
  if (document.hidden) return;
  void refreshEvents();
  void sales.poll();
}

showAccount();
void refreshEvents();
void refreshTickets();
void followCreatedEvents();
setInterval(tick, POLL_MS);
// Back from another tab: fresh numbers at once rather than at the next tick.
document.addEventListener('visibilitychange', tick);
