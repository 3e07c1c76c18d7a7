import * as api from '../api';
import { ApiError, type QueueEntry, type WaitingRoom } from '../api';
import { announce, countdown, formatDate, h, plural, setText } from '../dom';
import { go, type Shown } from '../router';
import { currentSession } from '../session';
import { describe, handleFailure, onAccountChange } from '../shell';
import { accountPanel } from './account';
import { loadEvent } from './load-event';

// The waiting room in the box office (issue 14). `#/queue/{id}` joins the event's line and follows it: the
// place, people ahead, the estimated wait and a progress bar, polled every second (polling is also how the
// room knows the buyer is still here). Once admitted the page keeps the pass (api.ts sends it as Queue-Pass)
// and moves on to the event's page by itself, where `roomDoor` shows the pass's countdown over the purchase.

const POLL_MS = 1_000;
// A screen reader hears the place again when it changed, at most this often (it changes every second).
const SAY_PLACE_EVERY_MS = 15_000;

/** Whether a room asks for a pass right now (open or paused); passthrough and closed sell as usual. */
const gates = (room: WaitingRoom | null) => room !== null && (room.state === 'open' || room.state === 'paused');

// Said on the event page once it shows the pass: a navigation clears what the page before it said.
let admittedMessage: { eventId: number; text: string } | null = null;

const clock = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds));
  const [hours, minutes] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const mmss = `${String(minutes).padStart(hours > 0 ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
};

export async function queueView({ id }: Record<string, string>): Promise<Shown> {
  const eventId = Number(id);
  const loaded = await loadEvent(eventId, 'Waiting room');
  if ('shown' in loaded) return loaded.shown;
  const { event } = loaded;
  const name = event.event_name;
  const state = h('p', { className: 'queue-state', id: 'queue-state' });
  const place = h('dl', { className: 'queue-place', id: 'queue-place' });
  const progress = h('progress', { className: 'queue-progress', id: 'queue-progress', 'aria-label': 'Your progress through the line' });
  // Its own polite region: the place is said when it changes (at most every 15 s), not every second.
  const said = h('p', { className: 'visually-hidden', id: 'queue-live', 'aria-live': 'polite' });
  const back = h('p', {}, h('a', { href: `#/events/${eventId}` }, `← ${name}`));
  const account = accountPanel();
  const body = h('div', { className: 'queue-body' });
  const element = h(
    'section',
    { className: 'panel queue', id: 'queue-panel', 'aria-labelledby': 'queue-heading' },
    back,
    h('h2', { id: 'queue-heading' }, `Waiting room: ${name}`),
    body,
  );

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let firstAhead: number | null = null;
  let lastSaid = 0;
  let lastStatus = '';
  // When the sale opens (the room's onsale_at): before it, a place without a position is in the pre-queue.
  let onsaleAt = 0;

  // A new kind of news is said at once; the place moving is said again at most every SAY_PLACE_EVERY_MS.
  let saidKind = '';
  const sayPlace = (kind: string, text: string, now = Date.now()) => {
    if (kind === saidKind && now - lastSaid < SAY_PLACE_EVERY_MS) return;
    [saidKind, lastSaid] = [kind, now];
    setText(said, text);
  };

  const renderPlace = (rows: [string, string][]) =>
    place.replaceChildren(...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));

  function showWaiting(entry: QueueEntry): void {
    if (entry.position === null || entry.ahead === null) {
      progress.removeAttribute('value');
      renderPlace([]);
      // After the start a joiner's place is given at the next tick (a fraction of a second).
      if (onsaleAt <= Date.now()) return setText(state, 'Taking your place in line…');
      setText(state, `You are in the pre-queue. Everyone who joins before the sale opens (${formatDate(new Date(onsaleAt).toISOString())}) gets a random place then; keep this page open.`);
      return sayPlace('prequeue', 'You are in the pre-queue; your place is drawn at random when the sale opens.');
    }
    firstAhead ??= entry.ahead;
    const total = Math.max(1, firstAhead + 1);
    progress.max = total;
    progress.value = Math.max(0, total - entry.ahead - 1);
    setText(progress, `${progress.value} of ${total}`);
    setText(state, entry.ahead === 0 ? 'You are next. Keep this page open.' : 'You are in the line. Keep this page open: the page moves on by itself when it is your turn.');
    renderPlace([
      ['Position', entry.position.toLocaleString()],
      ['Ahead of you', plural(entry.ahead, 'person', 'people')],
      ['Estimated wait', entry.estimated_wait_seconds === null ? '—' : clock(entry.estimated_wait_seconds)],
    ]);
    sayPlace('place', `You are number ${entry.position.toLocaleString()} in line, ${plural(entry.ahead, 'person', 'people')} ahead of you.`);
  }

  /** Renders the entry; answers whether to keep polling. */
  function show(entry: QueueEntry): boolean {
    element.dataset.status = entry.status;
    const changed = entry.status !== lastStatus;
    lastStatus = entry.status;
    if (changed && entry.status !== 'waiting') body.replaceChildren(state, back.cloneNode(true));
    switch (entry.status) {
      case 'waiting':
        if (changed) body.replaceChildren(state, place, progress, said);
        showWaiting(entry);
        return true;
      case 'admitted':
        api.rememberQueuePass(entry);
        setText(state, 'It is your turn.');
        admittedMessage = { eventId, text: `It is your turn for ${name}: choose your seats now.${entry.pass_expires_at ? ` Your pass is valid for ${countdown(entry.pass_expires_at).text}.` : ''}` };
        go(`/events/${eventId}`);
        return false;
      case 'expired':
        setText(state, 'Your pass has expired. Its time to buy is over.');
        return false;
      case 'abandoned':
        setText(state, 'Your turn came while this page was away, so your place was skipped.');
        return false;
      case 'closed':
        setText(state, `The sale through the line is over for ${name}: the event page has its waiting list.`);
        return false;
    }
  }

  const schedule = () => {
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  async function poll(): Promise<void> {
    const session = currentSession();
    if (!session || stopped) return;
    try {
      const entry = await api.myQueuePlace(eventId, session.token);
      if (stopped) return;
      if (entry === null) return void enter();
      if (show(entry)) schedule();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return handleFailure(error, 'Waiting');
      // A missed poll is retried at once: the grace period is several seconds.
      schedule();
    }
  }

  async function enter(): Promise<void> {
    clearTimeout(timer);
    const session = currentSession();
    if (!session) {
      lastStatus = '';
      body.replaceChildren(h('p', {}, `Log in or register to join the line for ${name}.`), account.element);
      return;
    }
    try {
      const room = await api.waitingRoom(eventId);
      onsaleAt = room ? Date.parse(room.onsale_at) : 0;
      const entry = await api.joinQueue(eventId, session.token);
      if (stopped) return;
      if (show(entry)) {
        announce(`You are in the line for ${name}. Keep this page open.`);
        schedule();
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return handleFailure(error, 'Joining the line');
      lastStatus = '';
      // 409: not open yet, or closed; 404: no room (any more): buying is on the event page.
      body.replaceChildren(h('p', { className: 'queue-state' }, `Could not join the line: ${describe(error)}`), h('p', {}, h('a', { href: `#/events/${eventId}` }, `Back to ${name}`)));
    }
  }

  const stopAccount = onAccountChange(() => void enter());
  await enter();
  return {
    title: `Waiting room: ${name}`,
    element,
    stop() {
      stopped = true;
      clearTimeout(timer);
      stopAccount();
      account.stop();
    },
  };
}

/**
 * The event page's part of the room: while the room asks for a pass and this page holds none, a way into the
 * line instead of the purchase form (`blocksBuying`); while it holds one, the pass's countdown.
 */
export function roomDoor(eventId: number, onChange: () => void) {
  const element = h('div', { id: 'queue-door' });
  const clockText = h('strong', { className: 'clock', role: 'timer', 'aria-label': 'Time left on your queue pass' });
  let room: WaitingRoom | null = null;
  let inLine: QueueEntry | null = null;
  let ticking: ReturnType<typeof setInterval> | undefined;
  const blocksBuying = () => gates(room) && api.heldQueuePass(eventId) === null;

  function render(): void {
    clearInterval(ticking);
    ticking = undefined;
    const pass = gates(room) ? api.heldQueuePass(eventId) : null;
    if (pass) {
      const tick = () => {
        const { text, left } = countdown(new Date(pass.expiresAt).toISOString());
        setText(clockText, text);
        if (left > 0) return;
        announce('Your queue pass has expired.', 'error');
        render();
        onChange();
      };
      ticking = setInterval(tick, 1000);
      tick();
      if (admittedMessage?.eventId === eventId) announce(admittedMessage.text, 'success');
      admittedMessage = null;
      return void element.replaceChildren(h('p', { className: 'queue-pass' }, 'Your turn: your queue pass is valid for ', clockText, '.'));
    }
    if (!room || !gates(room)) return void element.replaceChildren();
    const opens = Date.parse(room.onsale_at) > Date.now() ? ` The sale opens ${formatDate(room.onsale_at)}; join now and your place is drawn at random then.` : '';
    const label = inLine && inLine.status === 'waiting' ? 'See your place in line' : 'Join the line';
    element.replaceChildren(
      h('h3', {}, 'Waiting room'),
      h('p', {}, `Tickets for this on-sale are sold through a waiting room: ${plural(room.waiting, 'person is', 'people are')} in line.${opens}`),
      h('p', {}, h('a', { href: `#/queue/${eventId}`, className: 'button-link' }, label)),
    );
  }

  return {
    element,
    blocksBuying,
    /** Re-reads the room and, while it gates and no pass is held here, my place (a reloaded page finds its pass). */
    async refresh(token: string | undefined): Promise<void> {
      try {
        room = await api.waitingRoom(eventId);
        inLine = gates(room) && token && !api.heldQueuePass(eventId) ? await api.myQueuePlace(eventId, token) : null;
        if (inLine?.status === 'admitted') api.rememberQueuePass(inLine);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) handleFailure(error, 'Refreshing');
      }
      render();
    },
    stop: () => clearInterval(ticking),
  };
}
