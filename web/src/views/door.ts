import * as api from '../api';
import { ApiError, type EventOut } from '../api';
import { formatDate, h } from '../dom';
import type { Shown } from '../router';
import { currentSession } from '../session';
import { handleFailure } from '../shell';

// The door: check tickets in by typed (or pasted, or handheld-scanner) code, or by the phone's camera where
// the browser has BarcodeDetector. The answer fills the screen in one colour and one word, readable at arm's
// length: admitted / already admitted at <time> / cancelled / other event / unknown code.

type Verdict = 'admitted' | 'already' | 'cancelled' | 'other-event' | 'unknown' | 'error';

interface Outcome {
  verdict: Verdict;
  title: string;
  detail: string;
}

const ALREADY = /already checked in at (\S+)/i;

/** What the check-in answer means at the door. */
export function outcomeOf(result: { ticketId: number } | ApiError): Outcome {
  if (!(result instanceof ApiError)) return { verdict: 'admitted', title: 'Admitted', detail: `Ticket #${result.ticketId}` };
  const already = ALREADY.exec(result.message);
  if (already) return { verdict: 'already', title: 'Already admitted', detail: `at ${formatDate(already[1]!)}` };
  if (result.status === 409 && /cancelled/i.test(result.message)) return { verdict: 'cancelled', title: 'Cancelled', detail: 'This ticket was cancelled' };
  if (result.status === 400 && /another event/i.test(result.message)) return { verdict: 'other-event', title: 'Other event', detail: 'This ticket is for another event' };
  if (result.status === 404) return { verdict: 'unknown', title: 'Unknown code', detail: 'No ticket has this code' };
  return { verdict: 'error', title: 'Not checked', detail: result.message };
}

interface Detector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type DetectorClass = new (options: { formats: string[] }) => Detector;

export async function doorView({ id }: Record<string, string>): Promise<Shown> {
  const eventId = Number(id);
  let event: EventOut | undefined;
  try {
    event = await api.getEvent(eventId);
  } catch {
    // The check-in answers will say what is wrong.
  }
  const name = event?.event_name ?? `event #${eventId}`;
  const code = h('input', { id: 'door-code', name: 'code', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, enterkeyhint: 'go' });
  const result = h('div', { id: 'door-result', className: 'verdict idle', 'aria-live': 'assertive', 'aria-atomic': 'true' }, h('p', { className: 'verdict-title' }, 'Ready'), h('p', {}, 'Type or scan a ticket code.'));
  const counter = h('p', { className: 'hint', id: 'door-count' }, '');
  let admitted = 0;
  const form = h(
    'form',
    { className: 'form door-form', novalidate: true },
    h('label', { for: 'door-code' }, 'Ticket code'),
    h('div', { className: 'row' }, code, h('button', { type: 'submit' }, 'Check in')),
  );

  function show(outcome: Outcome): void {
    result.className = `verdict ${outcome.verdict}`;
    result.replaceChildren(h('p', { className: 'verdict-title' }, outcome.title), h('p', {}, outcome.detail));
    if (outcome.verdict === 'admitted') counter.textContent = `${(++admitted).toLocaleString()} admitted at this door since the page opened.`;
  }

  let checking = false;
  async function check(text: string): Promise<void> {
    const session = currentSession();
    const trimmed = text.trim();
    if (!session || trimmed === '' || checking) return;
    checking = true;
    try {
      const ticket = await api.checkIn(eventId, trimmed, session.token);
      show(outcomeOf({ ticketId: ticket.id }));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 0)) handleFailure(error, 'Checking in');
      show(outcomeOf(error instanceof ApiError ? error : new ApiError(0, 'Something went wrong')));
    } finally {
      checking = false;
    }
  }

  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    const text = code.value;
    code.value = '';
    // Ready for the next ticket at once.
    code.focus();
    void check(text);
  });

  // ---- camera ----
  const Barcode = (window as unknown as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  const camera = h('div', { className: 'camera' });
  let stream: MediaStream | undefined;
  let scanTimer: ReturnType<typeof setInterval> | undefined;
  const stopCamera = () => {
    clearInterval(scanTimer);
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = undefined;
  };
  if (Barcode) {
    const start = h('button', { type: 'button', className: 'secondary', id: 'start-camera' }, 'Scan with the camera');
    camera.append(start);
    start.addEventListener('click', () => {
      void (async () => {
        try {
          stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        } catch {
          show({ verdict: 'error', title: 'No camera', detail: 'The camera could not be opened; type the code instead.' });
          return;
        }
        const video = h('video', { muted: true, playsinline: true, 'aria-label': 'Camera view' });
        video.srcObject = stream;
        const stop = h('button', { type: 'button', className: 'secondary' }, 'Stop the camera');
        stop.addEventListener('click', () => {
          stopCamera();
          camera.replaceChildren(start);
        });
        camera.replaceChildren(video, stop);
        await video.play();
        const detector = new Barcode({ formats: ['qr_code'] });
        // The same code in front of the lens for a few frames is one scan.
        let last = '';
        let lastAt = 0;
        scanTimer = setInterval(() => {
          void detector.detect(video).then((found) => {
            const value = found[0]?.rawValue;
            if (!value || (value === last && Date.now() - lastAt < 3000)) return;
            [last, lastAt] = [value, Date.now()];
            void check(value);
          });
        }, 250);
      })();
    });
  } else {
    camera.append(h('p', { className: 'hint' }, 'This browser cannot read QR codes with the camera; type the code, or use a handheld scanner that types it.'));
  }

  const element = h(
    'section',
    { className: 'panel door', 'aria-labelledby': 'door-heading' },
    h('p', {}, h('a', { href: `#/organizer/events/${eventId}` }, `← Manage ${name}`)),
    h('h2', { id: 'door-heading' }, `Door: ${name}`),
    form,
    result,
    counter,
    camera,
  );
  setTimeout(() => code.focus(), 0);
  return { title: `Door: ${name}`, element, stop: stopCamera };
}
