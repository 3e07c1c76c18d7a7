import * as api from '../api';
import type { Order } from '../api';
import { announce, confirmStep, countdown, formatDate, h, plural, setText, whileBusy } from '../dom';
import { money } from '../money';
import { currentSession } from '../session';
import { handleFailure } from '../shell';

/**
 * A pending order (a hold): what is held, a countdown to its expires_at, and Confirm / Release. The
 * countdown is a role="timer" (not read out every second); the end of the hold is announced once.
 */
export function holdPanel(order: Order, onSettled: (order: Order) => void): { element: HTMLElement; stop(): void } {
  const name = order.event.event_name;
  const clock = h('strong', { className: 'clock', role: 'timer', 'aria-label': 'Time left on the hold' });
  const confirm = h('button', { type: 'button' }, `Confirm ${plural(order.quantity, 'seat', 'seats')}`);
  const release = h('button', { type: 'button', className: 'secondary' }, 'Release');
  confirm.setAttribute('aria-label', `Confirm ${plural(order.quantity, 'seat', 'seats')} for ${name}`);
  release.setAttribute('aria-label', `Release the hold on ${name}`);
  const actions = h('div', { className: 'actions' }, confirm, release);
  const headingId = `hold-${order.id}`;
  const element = h(
    'section',
    { className: 'hold', 'aria-labelledby': headingId },
    h('h3', { id: headingId }, `${plural(order.quantity, 'seat', 'seats')} held: ${name}`),
    h('p', {}, `Total ${money(order.total_price, order.event.currency)}. Held until `, h('time', { datetime: order.expires_at ?? '' }, order.expires_at ? formatDate(order.expires_at) : ''), ': ', clock, ' left.'),
    actions,
  );
  element.dataset.orderId = String(order.id);

  // Assigned below, once tick exists; tick may stop it.
  const timers: ReturnType<typeof setInterval>[] = [];
  const stop = () => timers.forEach(clearInterval);
  const tick = () => {
    const { text, left } = countdown(order.expires_at ?? new Date().toISOString());
    setText(clock, text);
    if (left > 0) return;
    stop();
    actions.replaceChildren(h('p', { className: 'bad' }, 'This hold has expired; its seats are back on sale.'));
    announce(`Your hold on ${name} has expired.`, 'error');
  };
  timers.push(setInterval(tick, 1000));
  tick();

  const settle = (done: Order, message: string) => {
    stop();
    announce(message, 'success');
    onSettled(done);
  };
  confirm.addEventListener('click', () => {
    const session = currentSession();
    if (!session) return;
    void whileBusy(confirm, 'Confirming…', () => api.confirmOrder(order.id, session.token, order.event_id))
      .then((done) => settle(done, `Confirmed! ${plural(done.tickets.length, 'ticket', 'tickets')} for ${name}.`))
      .catch((error: unknown) => handleFailure(error, 'Confirming'));
  });
  release.addEventListener('click', () => {
    const session = currentSession();
    if (!session) return;
    void confirmStep(`Release your ${plural(order.quantity, 'held seat', 'held seats')} for ${name}? Someone else may take them.`, 'Release the seats').then((yes) => {
      if (!yes) return;
      void whileBusy(release, 'Releasing…', () => api.cancelOrder(order.id, session.token))
        .then((done) => settle(done, `Released the hold on ${name}; the seats are back on sale.`))
        .catch((error: unknown) => handleFailure(error, 'Releasing'));
    });
  });
  return { element, stop };
}
