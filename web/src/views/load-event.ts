import * as api from '../api';
import { ApiError, type EventOut } from '../api';
import { h } from '../dom';
import type { Shown } from '../router';

/** The event a page is about, or the "Event not found" page (titled `title`) to show instead. */
export async function loadEvent(eventId: number, title: string): Promise<{ event: EventOut } | { shown: Shown }> {
  try {
    return { event: await api.getEvent(eventId) };
  } catch (error) {
    const message = error instanceof ApiError && error.status === 404 ? 'There is no such event.' : 'The event could not be loaded.';
    return { shown: { title, element: h('section', { className: 'panel' }, h('h2', {}, 'Event not found'), h('p', {}, message, ' ', h('a', { href: '#/' }, 'Back to the events'))) } };
  }
}
