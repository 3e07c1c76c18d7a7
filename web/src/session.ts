import type { Account } from './api';

// The sign-in lives in sessionStorage: it ends with the tab, and other tabs do not share it.

const TOKEN = 'bookfast.token';
const EMAIL = 'bookfast.email';

export interface Session {
  token: string;
  email: string;
}

export function currentSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN);
  const email = sessionStorage.getItem(EMAIL);
  return token && email ? { token, email } : null;
}

export function startSession(session: Session): void {
  sessionStorage.setItem(TOKEN, session.token);
  sessionStorage.setItem(EMAIL, session.email);
}

export function endSession(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EMAIL);
  account = null;
}

// What GET /me said about the signed-in user (role, may create events); null until it answers.
let account: Account | null = null;

export function currentAccount(): Account | null {
  return account;
}

export function setAccount(value: Account | null): void {
  account = value;
}
