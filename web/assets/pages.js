// The tasks (board and list), a fan-out group and the problems, and the loader every page uses (the fleet is
// fleet-page.js, one task task-page.js). Each page reads one JSON endpoint (the data of `gitbus status`, `group` or
// `lint`) and renders it; nothing here decides a state.
import { errorNotice, facts, getJson, h, offlineNotice, problemItem, replace, scrollBox, stateBadge, taskLink, title, usd } from './dom.js';

/**
 * Loads and renders a page's data; a refresh asked for while one runs is run once more after it, so the last
 * change is always shown and never two at once.
 */
export function loader(load, render, fail) {
  let running = null;
  let again = false;
  let disposed = false;
  const refresh = () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const data = await load();
          if (!disposed) render(data);
        } catch (err) {
          if (!disposed) fail(err);
        }
      } while (again && !disposed);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  return { refresh, dispose: () => (disposed = true) };
}

/** Task states in the order pages list them. */
export const STATE_ORDER = ['claimed', 'cancelling', 'pending', 'blocked', 'scheduled', 'invalid', 'unsupported', 'succeeded', 'failed', 'timed-out', 'cancelled'];

/* ---------------------------------------------------------------- tasks */

const COLUMNS = [
  ['Waiting', ['pending', 'blocked', 'scheduled']],
  ['Running', ['claimed', 'cancelling']],
  ['Succeeded', ['succeeded']],
  ['Failed', ['failed', 'timed-out', 'cancelled']],
  ['Invalid', ['invalid', 'unsupported']],
];
const BOARD_MAX = 30;

/** The node a task is with: the one running it, the one that ended it, else the one it is addressed to. */
function nodeOf(t) {
  return t.claim?.node ?? t.response?.node ?? t.to ?? '';
}

const SORTS = {
  id: (t) => t.id,
  title: (t) => (t.title ?? '').toLowerCase(),
  state: (t) => STATE_ORDER.indexOf(t.state),
  node: (t) => nodeOf(t),
  runner: (t) => t.runner ?? '',
  priority: (t) => t.priority,
  created: (t) => t.created ?? '',
  finished: (t) => t.response?.finished ?? '',
};
const HEADS = [
  ['id', 'ID'],
  ['title', 'Title'],
  ['state', 'State'],
  ['node', 'Node'],
  ['runner', 'Runner'],
  ['priority', 'Priority'],
  ['created', 'Created'],
  ['finished', 'Finished'],
];

function matches(t, f) {
  if (f.state && t.state !== f.state) return false;
  if (f.node && nodeOf(t) !== f.node && t.from !== f.node) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hay = [t.id, t.title ?? '', t.labels.join(' '), t.group ?? '', t.branch ?? ''].join('\n').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

function sorted(tasks, sort, dir) {
  // The address is the page's input: only a column's own key (never `__proto__`, `constructor`) picks the order.
  const key = Object.hasOwn(SORTS, sort) ? SORTS[sort] : SORTS.created;
  const sign = dir === 'asc' ? 1 : -1;
  return [...tasks].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * sign || (a.id < b.id ? -1 : 1);
  });
}

function board(tasks) {
  return h(
    'div',
    { class: 'board' },
    COLUMNS.map(([name, states]) => {
      const here = tasks.filter((t) => states.includes(t.state));
      const id = `col-${name.toLowerCase()}`;
      return h(
        'section',
        { class: `column column-${name.toLowerCase()}`, 'aria-labelledby': id },
        h('h3', { id }, name, h('span', { class: 'count' }, ` ${here.length}`)),
        here.length
          ? h(
              'ul',
              null,
              here.slice(0, BOARD_MAX).map((t) =>
                h('li', { class: 'card' }, taskLink(t.id, t.title ?? '(unreadable handoff)', false), h('div', { class: 'meta' }, stateBadge(t.state), ' ', h('code', null, t.id), nodeOf(t) ? ` · ${nodeOf(t)}` : '')),
              ),
              here.length > BOARD_MAX ? h('li', { class: 'muted' }, `and ${here.length - BOARD_MAX} more in the list`) : null,
            )
          : h('p', { class: 'muted' }, 'none'),
      );
    }),
  );
}

function listTable(tasks, f, onSort, self) {
  const head = h(
    'tr',
    null,
    HEADS.map(([key, label]) =>
      h(
        'th',
        { scope: 'col', 'aria-sort': f.sort === key ? (f.dir === 'asc' ? 'ascending' : 'descending') : null },
        h('button', { type: 'button', class: 'sort', 'data-key': `sort:${key}`, onclick: () => onSort(key) }, label, f.sort === key ? (f.dir === 'asc' ? ' ▲' : ' ▼') : ''),
      ),
    ),
  );
  const rows = tasks.map((t) =>
    h(
      'tr',
      { 'data-state': t.state },
      h('td', null, taskLink(t.id)),
      h('td', { class: 'title' }, t.title ?? '(unreadable handoff)', t.untrusted ? h('div', { class: 'warn' }, t.to && t.to !== self ? `untrusted for node ${t.to}, to which it is addressed: ${t.untrusted}` : `untrusted here: ${t.untrusted}`) : null, t.refusedHere ? h('div', { class: 'muted' }, `refused here: ${t.refusedHere}`) : null),
      h('td', null, stateBadge(t.state)),
      h('td', null, nodeOf(t)),
      h('td', null, t.runner ?? ''),
      h('td', { class: 'num' }, String(t.priority)),
      h('td', null, t.created ? h('time', { datetime: t.created, title: t.created }, t.created.slice(0, 16).replace('T', ' ')) : ''),
      h('td', null, t.response?.finished ? h('time', { datetime: t.response.finished, title: t.response.finished }, t.response.finished.slice(0, 16).replace('T', ' ')) : ''),
    ),
  );
  return h('table', { class: 'list tasks-table' }, h('caption', { class: 'visually-hidden' }, 'Tasks; the column buttons sort'), h('thead', null, head), h('tbody', null, rows));
}

export function tasksPage(el, _param, query) {
  const f = { state: query.get('state') ?? '', node: query.get('node') ?? '', q: query.get('q') ?? '', sort: HEADS.some(([key]) => key === query.get('sort')) ? query.get('sort') : 'created', dir: query.get('dir') === 'asc' ? 'asc' : 'desc' };
  let data = null;
  const stateSel = h('select', { id: 'f-state', 'data-key': 'f-state' });
  const nodeSel = h('select', { id: 'f-node', 'data-key': 'f-node' });
  const text = h('input', { id: 'f-q', type: 'search', value: f.q, placeholder: 'id, title, label…', autocomplete: 'off' });
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter tasks', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'f-state' }, 'State ', stateSel),
    h('label', { for: 'f-node' }, 'Node ', nodeSel),
    h('label', { for: 'f-q' }, 'Text ', text),
  );
  const summary = h('p', { class: 'sub', 'aria-live': 'polite' });
  const notices = h('div');
  const boardBox = h('div');
  const listBox = h('div');
  el.append(
    title('Tasks'),
    notices,
    filters,
    summary,
    h('section', { 'aria-labelledby': 'board-h' }, h('h2', { id: 'board-h' }, 'Board'), boardBox),
    h('section', { 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, 'List'), h('p', { class: 'hint muted' }, 'Press j and k to move between tasks, Enter to open one.'), listBox),
  );

  const options = (sel, values, current, all) => {
    const wanted = [['', all], ...values.map((v) => [v, v])];
    if (current && !values.includes(current)) wanted.push([current, current]);
    sel.replaceChildren(...wanted.map(([v, label]) => h('option', { value: v }, label)));
    sel.value = current;
  };

  const syncUrl = () => {
    const p = new URLSearchParams();
    if (f.state) p.set('state', f.state);
    if (f.node) p.set('node', f.node);
    if (f.q) p.set('q', f.q);
    if (f.sort !== 'created') p.set('sort', f.sort);
    if (f.dir !== 'desc') p.set('dir', f.dir);
    const qs = p.toString();
    history.replaceState(null, '', `/tasks${qs ? `?${qs}` : ''}`);
  };

  const render = () => {
    if (!data) return;
    const states = STATE_ORDER.filter((s) => data.tasks.some((t) => t.state === s));
    const nodes = [...new Set(data.tasks.flatMap((t) => [nodeOf(t), t.from ?? '']).filter(Boolean))].sort();
    if (document.activeElement !== stateSel) options(stateSel, states, f.state, 'all states');
    if (document.activeElement !== nodeSel) options(nodeSel, nodes, f.node, 'all nodes');
    const shown = sorted(data.tasks.filter((t) => matches(t, f)), f.sort, f.dir);
    summary.textContent = `${shown.length} of ${data.tasks.length} task${data.tasks.length === 1 ? '' : 's'}`;
    replace(notices, offlineNotice(data.offline));
    replace(boardBox, board(shown));
    replace(
      listBox,
      shown.length
        ? scrollBox(
            'Task list',
            listTable(shown, f, (key) => {
              f.dir = f.sort === key && f.dir === 'desc' ? 'asc' : f.sort === key ? 'desc' : key === 'title' || key === 'id' || key === 'node' || key === 'runner' ? 'asc' : 'desc';
              f.sort = key;
              syncUrl();
              render();
            }, data.node),
          )
        : h('p', { class: 'muted' }, data.tasks.length ? 'No task matches the filters.' : 'No tasks on the bus.'),
    );
  };

  stateSel.addEventListener('change', () => {
    f.state = stateSel.value;
    syncUrl();
    render();
  });
  nodeSel.addEventListener('change', () => {
    f.node = nodeSel.value;
    syncUrl();
    render();
  });
  text.addEventListener('input', () => {
    f.q = text.value.trim();
    syncUrl();
    render();
  });

  const l = loader(
    () => getJson('/api/tasks'),
    (d) => {
      data = d;
      render();
    },
    (err) => replace(notices, errorNotice(err)),
  );
  void l.refresh();
  return { refresh: l.refresh, dispose: l.dispose };
}

/* ---------------------------------------------------------------- group */

function changes(t) {
  const p = t.project;
  if (!p) return t.waitingFor.length ? `waiting for ${t.waitingFor.length} task${t.waitingFor.length === 1 ? '' : 's'}` : '';
  const parts = [];
  if (p.commits !== undefined) parts.push(`${p.commits} commit${p.commits === 1 ? '' : 's'}`);
  if (p.files !== undefined) parts.push(`${p.files} file${p.files === 1 ? '' : 's'} +${p.insertions ?? 0} −${p.deletions ?? 0}`);
  if (p.merged) parts.push(`merged ${p.merged.length}`);
  const nothing = !p.pushed && p.pushError === undefined && !p.conflicts?.length && p.headCommit === p.baseCommit;
  parts.push(p.pushed ? 'pushed' : nothing ? 'nothing pushed (no commit over the base)' : `not pushed${p.pushError ? ` (${p.pushError})` : ''}`);
  return parts.join(', ');
}

function renderGroup(g) {
  const rows = [...g.workstreams.map((t) => [t.workstream, t]), ...(g.integration ? [['integration', g.integration]] : []), ...g.others.map((t) => [t.kind ?? 'other', t])];
  const table = h(
    'table',
    { class: 'list' },
    h('thead', null, h('tr', null, ['Workstream', 'ID', 'State', 'Node', 'Attempt', 'Session', 'Cost', 'Branch', 'Changes'].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      rows.map(([name, t]) =>
        h(
          'tr',
          null,
          h('td', null, name ?? ''),
          h('td', null, taskLink(t.id)),
          h('td', null, stateBadge(t.state), t.archived ? ` (archived ${t.archived})` : ''),
          h('td', null, t.node ?? ''),
          h('td', { class: 'num' }, t.attempt === null ? '' : String(t.attempt)),
          h('td', null, t.session ? h('code', null, t.session) : ''),
          h('td', { class: 'num' }, t.costUsd === null ? '' : usd(t.costUsd)),
          h('td', null, t.branch ? h('code', null, t.branch) : ''),
          h('td', null, changes(t)),
        ),
      ),
    ),
  );
  const reasons = rows.filter(([, t]) => t.reason);
  return [
    offlineNotice(g.offline),
    facts([
      ['Title', g.title],
      ['Repository', g.repo ? h('code', null, g.repo) : null],
      ['Base', g.base ? [g.base, g.baseCommit ? h('code', null, ` ${g.baseCommit.slice(0, 12)}`) : null] : null],
      ['Cost so far', g.costUsd > 0 ? usd(g.costUsd) : null],
    ]),
    scrollBox('Tasks of the group', table),
    reasons.length ? h('section', null, h('h2', null, 'Why tasks ended without success'), h('ul', null, reasons.map(([name, t]) => h('li', null, h('strong', null, name ?? t.id), `: ${t.reason}`)))) : null,
    integrationOutcome(g),
  ];
}

/** What an unfinished resolve did, as `gitbus group` words it: one that pushed nothing on purpose has nothing coming. */
function incompleteWords(x, task) {
  const branch = x.branch ? h('code', null, x.branch) : 'the branch';
  const without = x.missing.join(', ');
  const p = task?.project;
  const why = p && p.headCommit !== p.baseCommit ? 'did not succeed' : 'made no commit over its base';
  if (x.pushedNothing) return [` ${why}, so nothing was pushed and nothing is coming (`, branch, ` lacks ${without}): not resolved.`];
  return [` ${x.pushed ? 'pushed' : 'left (not pushed)'} `, branch, ` without ${without}: not resolved.`];
}

/** Workstreams a resume moved, or may move, after the integration, as `gitbus group` says it (movedSince). */
function movedSection(g) {
  const i = g.integration;
  const waiting = g.movedSince.some((m) => !m.moved);
  return h(
    'section',
    { 'data-moved-since': '' },
    h('h2', null, 'Not integrated as it stands'),
    h('p', null, h('code', null, i?.branch ?? 'The integration branch'), ' lacks what came after it on these workstreams:'),
    h('ul', null, g.movedSince.map((m) => h('li', null, h('strong', null, m.workstream), m.moved ? ': moved since, by resume ' : ': being resumed by ', taskLink(m.by, undefined, false), m.moved ? '' : ', which may move it'))),
    h('p', null, `Merge again${waiting ? ' once the resumes ended' : ''}: `, h('code', null, `gitbus resolve ${i?.id ?? ''} --runner merge --force`)),
  );
}

/**
 * The integration's conflicts and who resolved them, as `gitbus group` says it: the read model decides (resolvedBy,
 * incomplete); the page only words it.
 */
function integrationOutcome(g) {
  const i = g.integration;
  const conflicts = i?.project?.conflicts ?? [];
  if (!conflicts.length) {
    if (i?.state !== 'succeeded' || !i.branch) return null;
    return g.movedSince?.length ? movedSection(g) : h('section', null, h('h2', null, 'Integrated'), h('p', null, 'Every workstream is merged on ', h('code', null, i.branch), '.'));
  }
  const fixed = g.others.find((o) => o.id === g.resolvedBy);
  const id = i?.id ?? '';
  let next;
  if (fixed) next = [h('p', { 'data-resolved-by': fixed.id }, 'Resolved by ', taskLink(fixed.id, undefined, false), fixed.branch ? [': the result is on ', h('code', null, fixed.branch)] : '', '.'), g.movedSince?.length ? movedSection(g) : null];
  else if (g.incomplete.length) {
    // A follow-up that ended without merging every workstream is no resolution: said, with what to do instead.
    next = [
      h('ul', { class: 'incomplete' }, g.incomplete.map((x) => h('li', { 'data-incomplete': x.id }, 'Resolve ', taskLink(x.id, undefined, false), ...incompleteWords(x, g.others.find((o) => o.id === x.id))))),
      h('p', null, 'Resolve again: ', h('code', null, `gitbus resolve ${id}`), ', or merge again once the workstreams are fixed: ', h('code', null, `gitbus resolve ${id} --runner merge`)),
    ];
  } else next = h('p', null, 'Ask an agent to resolve them: ', h('code', null, `gitbus resolve ${id}`));
  return h(
    'section',
    null,
    h('h2', null, 'Conflicts'),
    h('p', null, i?.branch ? h('code', null, i.branch) : 'The integration branch', ' was left untouched.'),
    h('ul', null, conflicts.map((c) => h('li', null, h('code', null, c.branch), `: ${c.files.join(', ')}`))),
    next,
  );
}

export function groupPage(el, name) {
  const body = h('div', { class: 'page-body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.append(title(`Group ${name}`), body);
  const l = loader(() => getJson(`/api/group/${encodeURIComponent(name)}`), (g) => replace(body, renderGroup(g)), (err) => replace(body, errorNotice(err)));
  void l.refresh();
  return { refresh: l.refresh, dispose: l.dispose };
}

/* ---------------------------------------------------------------- problems */

function renderProblems(r) {
  const warnings = r.problems.length - r.errors;
  return [
    offlineNotice(r.offline),
    h('p', { class: 'sub' }, `${r.errors} error${r.errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} (${r.checked} task${r.checked === 1 ? '' : 's'} checked) — what `, h('code', null, 'gitbus lint'), ' reports'),
    r.problems.length
      ? h(
          'ul',
          { class: 'problem-list' },
          r.problems.map((p, i) => problemItem(p, { tabindex: '0', 'data-nav': '', 'data-key': `problem:${i}` })),
        )
      : h('p', null, 'No problems: every file of the bus is valid.'),
  ];
}

export function problemsPage(el) {
  const body = h('div', { class: 'page-body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.append(title('Problems'), body);
  const l = loader(() => getJson('/api/problems'), (r) => replace(body, renderProblems(r)), (err) => replace(body, errorNotice(err)));
  void l.refresh();
  return { refresh: l.refresh, dispose: l.dispose };
}
