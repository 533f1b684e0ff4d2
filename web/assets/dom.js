// Helpers every page uses. Everything the pages show comes from the bus, which anyone with push access writes:
// it reaches the document only as text (text nodes, textContent, attribute values), never as markup.

/**
 * An element with attributes and children. Strings and numbers become text nodes; null, undefined and false are
 * skipped; arrays are flattened. `on*` keys take functions (listeners), never strings.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) {
      if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function taskHref(id) {
  return `/task/${encodeURIComponent(id)}`;
}

export function groupHref(name) {
  return `/group/${encodeURIComponent(name)}`;
}

/** A link to a task, focusable and reachable with j/k on lists (`data-nav`). */
export function taskLink(id, label, nav = true) {
  return h('a', { href: taskHref(id), 'data-nav': nav ? '' : null, 'data-key': `task:${id}` }, label ?? id);
}

const STATES = ['pending', 'blocked', 'scheduled', 'claimed', 'cancelling', 'succeeded', 'failed', 'timed-out', 'cancelled', 'invalid', 'unsupported', 'unknown'];

/** A task's state as a badge; its class comes from a fixed list, whatever the value says. */
export function stateBadge(state) {
  const known = STATES.includes(state) ? state : 'unknown';
  return h('span', { class: `badge state-${known}` }, state);
}

const LIVENESS = { alive: ['live', 'ok'], idle: ['idle', 'ok'], silent: ['silent', 'bad'], stopped: ['stopped', 'off'], unleased: ['no watcher', 'off'] };

export function livenessBadge(liveness) {
  const [label, tone] = LIVENESS[liveness] ?? [String(liveness), 'off'];
  return h('span', { class: `badge tone-${tone}` }, label);
}

/** "12s ago" from an age in milliseconds. */
export function agoText(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** A timestamp as its age, with the exact time for a pointer or a screen reader. */
export function when(iso, now = Date.now()) {
  if (!iso) return null;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  return h('time', { datetime: iso, title: iso }, agoText(now - t));
}

/**
 * A count of bytes as a person reads it, as the CLI says it (cli/output-note.ts `size`): exact bytes while small, else
 * KB or MB with one decimal, never rounded up into the next unit's range (no "1024.0 KB") nor down to "0.0".
 */
export function byteSize(n) {
  if (n < 10 * 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  if (n < 1024 * 1024 - 51) return `${(n / 1024).toFixed(1)} KB`;
  return `${Math.max(1, n / (1024 * 1024)).toFixed(1)} MB`;
}

export function usd(n) {
  return typeof n === 'number' && Number.isFinite(n) ? `$${(Math.round(n * 100) / 100).toFixed(2)}` : '';
}

/** A definition list of the pairs whose value is not empty. */
export function facts(pairs) {
  const dl = h('dl', { class: 'facts' });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    dl.append(h('dt', null, term), h('dd', null, value));
  }
  return dl;
}

export function chips(values) {
  if (!values || values.length === 0) return null;
  return h('ul', { class: 'chips' }, values.map((v) => h('li', null, v)));
}

/** A heading that receives focus after navigation, so a keyboard or screen reader starts at the page's top. */
export function title(text, ...more) {
  document.title = `${text} · gitbus`;
  return h('h1', { tabindex: '-1' }, text, ...more);
}

export function notice(kind, ...children) {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : null }, ...children);
}

/** The warning a page shows when the remote could not be reached: what it shows is what this node last knew. */
export function offlineNotice(offline) {
  if (!offline) return null;
  return notice('warn', `The remote cannot be reached (${offline.reason}): showing the bus as this node last saw it`, offline.lastContact ? [', ', when(offline.lastContact)] : null, '.');
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the server answered ${status}`);
    this.status = status;
    this.fix = body?.error?.fix ?? '';
    this.code = body?.error?.code ?? '';
  }
}

export async function getJson(url) {
  const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export function errorNotice(err) {
  return notice('error', err instanceof ApiError ? [err.message, err.fix ? ` (${err.fix})` : ''] : `Could not load this page: ${err?.message ?? err}`);
}

// One problem as lint reports it (schemas/errors.ts FileProblem): its severity, path and field, why, and the fix.
// `codeAttrs` go on the path (the problems page makes it a j/k stop).
export function problemItem(p, codeAttrs) {
  const error = p.severity === 'error';
  return h(
    'li',
    { class: `problem severity-${error ? 'error' : 'warning'}` },
    h('p', null, h('span', { class: `badge tone-${error ? 'bad' : 'warn'}` }, error ? 'error' : 'warning'), ' ', h('code', codeAttrs, p.path), p.field ? [' ', h('span', { class: 'muted' }, `(${p.field})`)] : null),
    h('p', null, p.reason),
    h('p', { class: 'fix' }, 'Fix: ', p.fix),
  );
}

/**
 * Replaces a container's children with a new rendering, keeping the keyboard's place: the element that had focus
 * is found again in the new content by its `data-key` and focused.
 */
export function replace(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-key') : null;
  container.replaceChildren();
  append(container, children);
  if (key) {
    const again = [...container.querySelectorAll('[data-key]')].find((el) => el.getAttribute('data-key') === key);
    if (again) again.focus({ preventScroll: true });
  }
}

/** A table in a box that scrolls sideways on its own, so a narrow screen never scrolls the whole page. */
export function scrollBox(label, table) {
  return h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
