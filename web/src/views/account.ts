import { announce, formBusy, h } from '../dom';
import { currentSession } from '../session';
import { describe, onAccountChange, registerAndSignIn, signIn } from '../shell';
import { field, formIsValid, labelled } from './forms';

/** Log in, or register (which signs you in too); once signed in, who you are. Re-renders on sign in/out. */
export function accountPanel(): { element: HTMLElement; stop(): void } {
  const body = h('div');
  const element = h('section', { className: 'panel', id: 'account', 'aria-labelledby': 'account-heading' }, h('h2', { id: 'account-heading' }, 'Your account'), body);
  const render = () => body.replaceChildren(...(currentSession() ? signedIn() : [loginForm(), registerForm()]));
  render();
  return { element, stop: onAccountChange(render) };
}

function signedIn(): HTMLElement[] {
  const session = currentSession()!;
  return [h('p', {}, 'Signed in as ', h('strong', {}, session.email), '.'), h('p', {}, h('a', { href: '#/tickets' }, 'My tickets and orders'))];
}

function credentials(prefix: string, passwordAutocomplete: string): HTMLElement[] {
  const email = h('input', { id: `${prefix}-email`, name: 'email', type: 'email', autocomplete: prefix === 'login' ? 'username' : 'email', required: true });
  const password = h('input', { id: `${prefix}-password`, name: 'password', type: 'password', autocomplete: passwordAutocomplete, required: true });
  if (prefix === 'register') {
    password.minLength = 8;
    password.maxLength = 72;
  }
  return [labelled('Email', email), labelled('Password', password, prefix === 'register' ? '8 to 72 characters.' : undefined)];
}

function loginForm(): HTMLFormElement {
  const form = h('form', { id: 'login-form', className: 'form', novalidate: true }, h('h3', {}, 'Log in'), ...credentials('login', 'current-password'), h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    if (!formIsValid(form)) return;
    const [email, password] = [field(form, 'email'), field(form, 'password', false)];
    void formBusy(form, () => signIn(email, password))
      .then(() => announce(`Welcome, ${email}. You are logged in.`, 'success'))
      .catch((error: unknown) => announce(`Log in failed: ${describe(error)}`, 'error'));
  });
  return form;
}

function registerForm(): HTMLFormElement {
  const form = h(
    'form',
    { id: 'register-form', className: 'form', novalidate: true },
    h('h3', {}, 'New here? Register'),
    ...credentials('register', 'new-password'),
    h('button', { type: 'submit' }, 'Register'),
  );
  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    if (!formIsValid(form)) return;
    const [email, password] = [field(form, 'email'), field(form, 'password', false)];
    void formBusy(form, () => registerAndSignIn(email, password))
      .then(() => announce(`Account created for ${email}. You are logged in.`, 'success'))
      .catch((error: unknown) => announce(`Registration failed: ${describe(error)}`, 'error'));
  });
  return form;
}
