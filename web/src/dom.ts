// Tiny DOM helpers. Text always goes in through textContent, never innerHTML: event names are user data.

type Props = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name === 'className') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children);
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from index.html`);
  return element as T;
}

export function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** Says one outcome in the page's live region (read out by screen readers) and on screen. */
let fading: ReturnType<typeof setTimeout> | undefined;

export function announce(message: string, tone: 'info' | 'success' | 'error' = 'info'): void {
  const status = byId('status');
  status.className = `status ${tone}`;
  // Same text twice in a row would not be read again; a zero-width change makes it new.
  status.textContent = message + (status.textContent === message ? '\u200b' : '');
  keepRoomForStatus();
  // Good news has been read out and seen after a while: give the screen back. Errors stay until the next message.
  clearTimeout(fading);
  if (tone !== 'error') fading = setTimeout(clearStatus, 10_000);
}

export function clearStatus(): void {
  clearTimeout(fading);
  const status = byId('status');
  status.textContent = '';
  status.className = 'status';
  keepRoomForStatus();
}

/**
 * The page keeps room below its content for the status region (and scrolling stops short of it). Set at
 * once when a message shows, not only from main.ts's ResizeObserver, which runs a frame later: a field
 * focused or a scroll made right after a message would otherwise end up behind it.
 */
export function keepRoomForStatus(): void {
  document.documentElement.style.setProperty('--status-space', `${byId('status').offsetHeight}px`);
}

/** Disables a button (and marks it busy) while work runs; the caller's own re-render may replace it. */
export async function whileBusy<T>(button: HTMLButtonElement, busyLabel: string, work: () => Promise<T>): Promise<T> {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = busyLabel;
  try {
    return await work();
  } finally {
    button.removeAttribute('aria-busy');
    button.textContent = label;
    button.disabled = false;
  }
}

/** Like whileBusy for a whole form: every control is disabled until the request answers. */
export async function formBusy<T>(form: HTMLFormElement, work: () => Promise<T>): Promise<T> {
  const controls = [...form.elements].filter((el): el is HTMLInputElement | HTMLButtonElement => 'disabled' in el);
  for (const control of controls) control.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    form.removeAttribute('aria-busy');
    for (const control of controls) control.disabled = false;
  }
}

// With the zone's name ("CET", "GMT+1"): a buyer in another zone must not mistake the hour. Fields one by
// one, because dateStyle and timeStyle refuse timeZoneName.
const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' });

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

export function plural(count: number, one: string, many: string): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

let dialogCount = 0;

/**
 * Asks before an action that cannot be undone, in a modal <dialog> (focus moves into it and returns to the
 * button that opened it; Escape cancels). Resolves true only when the person confirms.
 */
export function confirmStep(question: string, confirmLabel: string, cancelLabel = 'Keep it'): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = `confirm-title-${++dialogCount}`;
  const yes = h('button', { type: 'button', className: 'danger', value: 'yes' }, confirmLabel);
  const no = h('button', { type: 'button', className: 'secondary', value: 'no' }, cancelLabel);
  const dialog = h('dialog', { 'aria-labelledby': titleId, className: 'confirm' }, h('p', { id: titleId }, question), h('div', { className: 'actions' }, no, yes));
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(answer);
    };
    yes.addEventListener('click', () => finish(true));
    no.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    dialog.showModal();
    // The safe choice has the focus: Enter on a stray key press keeps the ticket.
    no.focus();
  });
}

/** A link that looks like text in a sentence: `#/path` navigations go through the router. */
export function link(href: string, text: string, props: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href, ...props }, text);
}

/** mm:ss until `iso`, or 0:00 when it has passed. */
export function countdown(iso: string, now = Date.now()): { text: string; left: number } {
  const left = Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
  return { text: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`, left };
}
