import * as api from './api';
import { ApiError } from './api';
import { announce, byId } from './dom';
import { currentAccount, currentSession, endSession, setAccount, startSession, type Session } from './session';

// The page around the views: who is signed in, the navigation that depends on it, and the one way
// failures are told. Views call these; they never touch the header themselves.

const listeners = new Set<() => void>();

/** Runs `render` whenever someone signs in or out (and the account is known). */
export function onAccountChange(render: () => void): () => void {
  listeners.add(render);
  return () => listeners.delete(render);
}

function accountChanged(): void {
  const session = currentSession();
  const account = currentAccount();
  byId('whoami').textContent = session ? `Signed in as ${session.email}` : 'Not signed in';
  byId('nav-tickets').hidden = session === null;
  // Organizer pages for whoever may create events (or already owns some: /me/events will tell).
  byId('nav-organizer').hidden = session === null || (account !== null && !account.may_create_events && account.role === 'customer');
  byId('logout').hidden = session === null;
  for (const render of listeners) render();
}

export async function signIn(email: string, password: string): Promise<void> {
  const token = await api.login(email, password);
  startSession({ token, email });
  setAccount(await api.me(token).catch(() => null));
  accountChanged();
}

/** Registering signs you in: one form, one press. */
export async function registerAndSignIn(email: string, password: string): Promise<void> {
  await api.register(email, password);
  await signIn(email, password);
}

export function signOut(): void {
  const session = currentSession();
  endSession();
  accountChanged();
  if (session) void api.logout(session.token);
}

/** On load: a token from this tab's earlier page may still be good; GET /me says so. */
export async function resumeSession(): Promise<void> {
  const session = currentSession();
  if (session) {
    try {
      setAccount(await api.me(session.token));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) endSession();
    }
  }
  accountChanged();
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** A 401 means the token expired or was revoked: sign out here too, and say so. Anything else is told. */
export function handleFailure(error: unknown, doing: string): void {
  if (error instanceof ApiError && error.status === 401) {
    endSession();
    accountChanged();
    announce('Your session has ended; please log in again.', 'error');
    return;
  }
  announce(`${doing} failed: ${describe(error)}`, 'error');
}

/** The session, or null after telling the person to log in first. */
export function requireSession(toDo: string): Session | null {
  const session = currentSession();
  if (!session) announce(`Log in to ${toDo}.`);
  return session;
}
