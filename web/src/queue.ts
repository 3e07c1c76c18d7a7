import type { paths } from '../../client/bookfast-api';
import { ApiError, rememberQueuePass, request, type EventOut } from './api';
import { announce, h, plural, setText } from './dom';
import './queue.css';

// The waiting room's view (issue 14): when a purchase is refused for want of a queue pass (or before the
// sale opens), the page joins the line, polls its place every second (polling is also how the room knows
// the buyer is still here), shows position, people ahead, estimated wait and a progress bar, and once
// admitted keeps the pass, shows its countdown and books by itself.

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type QueueEntry = Json<paths['/events/{id}/queue/me']['get']['responses'][200]>;

const POLL_MS = 1_000;

/** A refusal the waiting room answers: no pass yet, or the sale not open yet. */
export function isQueueRefusal(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && /queue pass is required|not on sale yet/i.test(error.message);
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [hours, minutes] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const mmss = `${String(minutes).padStart(hours > 0 ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

export class QueueView {
  private readonly panel = h('section', { id: 'queue-panel', className: 'panel queue', 'aria-labelledby': 'queue-heading', hidden: true });
  private readonly heading = h('h2', { id: 'queue-heading' });
  private readonly state = h('p', { className: 'queue-state' });
  private readonly place = h('dl', { className: 'queue-place' });
  private readonly progress = h('progress', { className: 'queue-progress', 'aria-label': 'Progress through the line' });
  private readonly countdown = h('p', { className: 'queue-countdown', 'aria-live': 'off' });
  private event: EventOut | undefined;
  private token = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private countdownTimer: ReturnType<typeof setInterval> | undefined;
  private firstAhead: number | null = null;
  private admittedOnce = false;
  private onAdmitted: () => void = () => undefined;

  constructor() {
    this.panel.append(this.heading, this.state, this.place, this.progress, this.countdown);
    // Above the events: the line is what the buyer is looking at now.
    document.querySelector('main')?.before(this.panel);
  }

  /** Joins the line of `event` (once per account: joining again returns the same place) and follows it. */
  async enter(event: EventOut, token: string, onAdmitted: () => void): Promise<void> {
    // Admitted already and still refused: say so rather than join and book again in a loop.
    if (this.event?.id === event.id && this.admittedOnce) return void announce('Booking with your queue pass failed; please try again.', 'error');
    this.leave();
    Object.assign(this, { event, token, onAdmitted, firstAhead: null, admittedOnce: false });
    setText(this.heading, `Waiting room: ${event.event_name}`);
    try {
      this.show(await request<QueueEntry>('POST', `/events/${event.id}/queue`, { token }));
    } catch (error) {
      announce(`Could not join the line: ${error instanceof Error ? error.message : 'unknown error'}`, 'error');
      return;
    }
    this.panel.hidden = false;
    announce(`You are in the line for ${event.event_name}. Keep this page open.`);
    this.schedule();
  }

  leave(): void {
    clearTimeout(this.timer);
    clearInterval(this.countdownTimer);
    this.timer = undefined;
    this.panel.hidden = true;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private async poll(): Promise<void> {
    if (!this.event) return;
    try {
      const entry = await request<QueueEntry>('GET', `/events/${this.event.id}/queue/me`, { token: this.token });
      if (this.show(entry)) this.schedule();
    } catch {
      // A missed poll is retried; the grace period is several seconds.
      this.schedule();
    }
  }

  /** Renders the entry; answers whether to keep polling. */
  private show(entry: QueueEntry): boolean {
    const event = this.event!;
    this.panel.dataset.status = entry.status;
    switch (entry.status) {
      case 'waiting':
        this.showWaiting(entry);
        return true;
      case 'admitted':
        this.showAdmitted(entry);
        return entry.pass !== null;
      case 'expired':
        setText(this.state, 'Your pass has expired.');
        this.stopCountdown('Pass expired');
        return false;
      case 'abandoned':
        setText(this.state, 'Your turn came while this page was away, so your place was skipped.');
        return false;
      case 'closed':
        setText(this.state, entry.detail ?? `The sale through the line is over for ${event.event_name}.`);
        return false;
    }
  }

  private showWaiting(entry: QueueEntry): void {
    if (entry.position === null || entry.ahead === null) {
      setText(this.state, 'You are in the pre-queue. Everyone here gets a random place when the sale opens.');
      this.progress.removeAttribute('value');
      this.renderPlace([]);
      return;
    }
    this.firstAhead ??= entry.ahead;
    const total = Math.max(1, this.firstAhead + 1);
    this.progress.max = total;
    this.progress.value = total - entry.ahead - 1;
    setText(this.state, entry.ahead === 0 ? 'You are next.' : 'You are in the line. Keep this page open.');
    this.renderPlace([
      ['Position', entry.position.toLocaleString()],
      ['Ahead of you', plural(entry.ahead, 'person', 'people')],
      ['Estimated wait', entry.estimated_wait_seconds === null ? '—' : clock(entry.estimated_wait_seconds)],
    ]);
  }

  private showAdmitted(entry: QueueEntry): void {
    this.progress.max = 1;
    this.progress.value = 1;
    this.renderPlace(entry.position === null ? [] : [['Position', entry.position.toLocaleString()]]);
    setText(this.state, 'It is your turn: you may buy now.');
    if (entry.pass && entry.pass_expires_at) {
      rememberQueuePass(entry.event_id, entry.pass, entry.pass_expires_at);
      this.startCountdown(Date.parse(entry.pass_expires_at));
    }
    if (!this.admittedOnce) {
      this.admittedOnce = true;
      this.onAdmitted();
    }
  }

  private startCountdown(expiresAt: number): void {
    clearInterval(this.countdownTimer);
    const render = () => {
      const left = (expiresAt - Date.now()) / 1000;
      if (left <= 0) return this.stopCountdown('Pass expired');
      setText(this.countdown, `Your pass is valid for ${clock(left)}`);
    };
    render();
    this.countdownTimer = setInterval(render, 1_000);
  }

  private stopCountdown(text: string): void {
    clearInterval(this.countdownTimer);
    setText(this.countdown, text);
  }

  private renderPlace(rows: [string, string][]): void {
    this.place.replaceChildren(...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
  }
}
