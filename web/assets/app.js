// The page's entry: picks the page for the path, keeps it current from the server's change events, and routes
// links without reloading. Pages are real paths (/, /tasks, /task/ID, /group/NAME, /problems) served by one shell.
import { h } from './dom.js';
import { fleetPage } from './fleet-page.js';
import { groupPage, problemsPage, tasksPage } from './pages.js';
import { taskPage } from './task-page.js';

const ROUTES = [
  [/^\/$/, 'fleet', fleetPage],
  [/^\/tasks$/, 'tasks', tasksPage],
  [/^\/task\/([^/]+)$/, 'tasks', taskPage],
  [/^\/group\/([^/]+)$/, 'tasks', groupPage],
  [/^\/problems$/, 'problems', problemsPage],
];

const main = document.getElementById('main');
const live = document.getElementById('live');
let current = null;

function notFound(el) {
  document.title = 'Not found · gitbus';
  el.append(h('h1', { tabindex: '-1' }, 'Not found'), h('p', null, 'There is no such page. ', h('a', { href: '/' }, 'Go to the fleet.')));
  return { refresh() {}, dispose() {} };
}

function route(focus) {
  shownPath = location.pathname + location.search;
  current?.dispose();
  main.replaceChildren();
  const path = location.pathname;
  let page = null;
  for (const [re, nav, mount] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    let param = '';
    try {
      param = m[1] === undefined ? '' : decodeURIComponent(m[1]);
    } catch {
      break;
    }
    for (const a of document.querySelectorAll('nav a[data-page]')) {
      if (a.getAttribute('data-page') === nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    page = mount(main, param, new URLSearchParams(location.search));
    break;
  }
  current = page ?? notFound(main);
  if (focus) {
    // After navigation the keyboard starts at the new page's heading (it appears once the page has loaded).
    const heading = main.querySelector('h1');
    (heading ?? main).focus({ preventScroll: false });
  }
}

export function navigate(href) {
  history.pushState(null, '', href);
  route(true);
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.hash) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});

// A skip link or any other #fragment changes the history too: only a new path or query is a new page.
let shownPath = location.pathname + location.search;
window.addEventListener('popstate', () => {
  if (location.pathname + location.search === shownPath || (location.hash && location.pathname === shownPath.split('?')[0])) return;
  route(true);
});

// j/k (or the arrow keys) move between the rows of a list; Enter follows the focused link as usual.
document.addEventListener('keydown', (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target;
  if (t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(t.tagName))) return;
  const down = e.key === 'j' || (e.key === 'ArrowDown' && t instanceof HTMLElement && t.hasAttribute('data-nav'));
  const up = e.key === 'k' || (e.key === 'ArrowUp' && t instanceof HTMLElement && t.hasAttribute('data-nav'));
  if (!down && !up) return;
  const items = [...main.querySelectorAll('[data-nav]')].filter((el) => el.offsetParent !== null);
  if (items.length === 0) return;
  const at = items.indexOf(document.activeElement);
  const next = at < 0 ? (down ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, at + (down ? 1 : -1)));
  items[next].focus();
  e.preventDefault();
});

function setLive(text, tone) {
  live.textContent = text;
  live.className = `live tone-${tone}`;
}

// One stream of the bus's changes for the whole page; the browser reconnects it by itself when it drops.
function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('hello', (e) => {
    setLive('live', 'ok');
    const { version } = JSON.parse(e.data);
    document.getElementById('foot').textContent = `gitbus ${version} · read-only view`;
    // Anything may have moved while the stream was not connected: while it was down, and before its first hello, as
    // the page loaded its data. A change the server saw in between was told to no one here (a task dispatched just
    // before the page opened stayed missing until the next change). The loader runs one read after another.
    current?.refresh();
  });
  // Heartbeats move every few seconds; only the fleet shows them. Every page reads again when main moved.
  events.addEventListener('change', (e) => {
    const moved = JSON.parse(e.data);
    if (moved.main || (current?.heartbeats && moved.nodes.length > 0)) current?.refresh();
  });
  events.addEventListener('offline', (e) => setLive(`remote unreachable: ${JSON.parse(e.data).reason}`, 'bad'));
  events.addEventListener('online', () => {
    setLive('live', 'ok');
    current?.refresh();
  });
  events.addEventListener('error', () => setLive('reconnecting…', 'off'));
}

route(false);
connect();
