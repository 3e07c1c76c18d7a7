import { clearStatus } from './dom';

// A hash router: `#/events/7` shows the view registered for `/events/:id` in <main>. Views are plain
// functions that build their element; a view may return `stop` to end its timers and streams when left.
// Another view plugs in with one `route('/path/:param', view)` line in main.ts.

export interface Shown {
  title: string;
  element: HTMLElement;
  stop?(): void;
}

export type View = (params: Record<string, string>) => Shown | Promise<Shown>;

interface Route {
  pattern: RegExp;
  names: string[];
  view: View;
}

const routes: Route[] = [];
let current: Shown | undefined;
let rendering = 0;

export function route(path: string, view: View): void {
  const names: string[] = [];
  const source = path.replace(/:(\w+)/g, (_match, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ pattern: new RegExp(`^${source}$`), names, view });
}

export function go(path: string): void {
  if (location.hash === `#${path}`) void show();
  else location.hash = path;
}

export function here(): string {
  return location.hash.replace(/^#/, '') || '/';
}

/** Renders the view of the current hash into `main`, then moves focus to its heading (for screen readers). */
export async function show(main = document.getElementById('view')!): Promise<void> {
  const path = here();
  const turn = ++rendering;
  // Messages belong to the page they were said on.
  clearStatus();
  current?.stop?.();
  current = undefined;
  for (const { pattern, names, view } of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
    const shown = await view(params);
    // Another navigation started while this view loaded: it wins.
    if (turn !== rendering) return shown.stop?.();
    current = shown;
    main.replaceChildren(shown.element);
    document.title = `${shown.title} · BookFast box office`;
    for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
      if (link.getAttribute('href') === `#${path}`) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const heading = shown.element.querySelector<HTMLElement>('h2');
    if (heading && document.activeElement?.closest('#view') == null && path !== '/') {
      heading.tabIndex = -1;
      heading.focus();
    }
    return;
  }
  go('/');
}

export function startRouter(): void {
  window.addEventListener('hashchange', () => {
    // `#view` and the like are in-page anchors (the skip link): the browser moves focus there; no new view.
    if (location.hash === '' || location.hash.startsWith('#/')) void show();
  });
  void show();
}
