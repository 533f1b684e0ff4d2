// The fleet: every node with its state, card and running tasks, the tasks by state, and the nodes that beat with no
// card. Reads /api/fleet (the data of `gitbus status`) and renders it; nothing here decides a state.
import { agoText, chips, errorNotice, facts, getJson, h, livenessBadge, notice, offlineNotice, replace, stateBadge, taskLink, title, usd } from './dom.js';
import { loader, STATE_ORDER } from './pages.js';

function spendText(s) {
  if (!s) return null;
  if (s.capUsd === null || s.capUsd === undefined) return `claude ${usd(s.spentUsd)}`;
  return `claude ${usd(s.spentUsd)} of ${usd(s.capUsd)}`;
}

/**
 * Drift of the node's environment profiles, as its card reports them (`env`: one entry per profile, schemas/
 * env-drift.ts), as "claude (auto): 6 in-sync, 1 conflict: ~/.zshrc conflict; …". Text only; the card is untrusted.
 */
function driftText(env) {
  if (!Array.isArray(env)) return null;
  const parts = [];
  for (const p of env.slice(0, 20)) {
    if (!p || typeof p !== 'object') continue;
    const counts = p.counts && typeof p.counts === 'object' ? Object.entries(p.counts).filter(([, n]) => typeof n === 'number' && n > 0).map(([k, n]) => `${n} ${k}`) : [];
    const files = Array.isArray(p.drift) ? p.drift.slice(0, 10).map((d) => `${String(d?.target ?? '')} ${String(d?.state ?? '')}`) : [];
    const more = typeof p.more === 'number' ? [`${p.more} more`] : [];
    const head = `${String(p.profile ?? '?')}${p.apply ? ` (${String(p.apply)})` : ''}: ${counts.length ? counts.join(', ') : 'nothing reported'}`;
    const tail = [...files, ...more].join(', ');
    parts.push(`${head}${tail ? `: ${tail}` : ''}${p.problem ? ` (${String(p.problem)})` : ''}`);
  }
  return parts.length ? parts.join('; ') : null;
}

function hostText(host) {
  if (!host) return null;
  const bits = [host.hostname, host.cpus ? `${host.cpus} CPU${host.cpus === 1 ? '' : 's'}` : null, host.memoryMb ? `${Math.round(host.memoryMb / 1024)} GiB` : null].filter(Boolean);
  return bits.length ? bits.join(', ') : null;
}

function nodeCard(n, d) {
  const c = n.card ?? null;
  const headingId = `node-${n.node}`;
  const beat = n.heartbeat ? h('time', { datetime: n.heartbeat.at, title: n.heartbeat.at }, agoText(n.heartbeat.ageMs)) : 'never';
  return h(
    'article',
    { class: `node tone-${n.liveness}`, 'aria-labelledby': headingId, 'data-node': n.node },
    h('header', null, h('h3', { id: headingId }, n.node), ' ', livenessBadge(n.liveness), n.node === d.node ? h('span', { class: 'tag' }, 'this node') : null),
    c === null ? h('p', { class: 'muted' }, 'Its node card cannot be read.') : null,
    facts([
      [n.heartbeat?.stopped ? 'Stopped' : 'Last beat', beat],
      ['Version', c?.version ? [c.version, c.version !== d.version ? h('span', { class: 'muted' }, ` (this view runs ${d.version})`) : null] : null],
      ['System', c?.host?.os || c?.host?.arch ? `${c.host.os ?? '?'}/${c.host.arch ?? '?'}` : null],
      ['Host', hostText(c?.host)],
      ['Labels', chips(c?.labels)],
      ['Runners', chips(c?.runners)],
      ['Parallel', c?.parallel],
      ['Spend today', spendText(n.spend)],
      ['Drift', driftText(c?.env)],
    ]),
    n.running.length
      ? h(
          'div',
          { class: 'running' },
          h('h4', null, `Running (${n.running.length})`),
          h(
            'ul',
            null,
            n.running.map((t) => h('li', null, taskLink(t.id, t.title ?? t.id), ` attempt ${t.attempt}`, t.state === 'cancelling' ? ' (cancelling)' : '', t.progress ? h('div', { class: 'progress' }, t.progress.text) : null, t.delivering ? h('div', { class: 'progress' }, `finished; its result waits for the project remote (${t.delivering.reason})`) : null)),
          ),
        )
      : h('p', { class: 'muted' }, 'Running nothing.'),
    n.problems.length ? h('ul', { class: 'problems-inline' }, n.problems.map((p) => h('li', null, `${p.field ? `${p.field}: ` : ''}${p.reason}`))) : null,
  );
}

function renderFleet(d) {
  const counts = STATE_ORDER.filter((s) => d.counts[s]);
  return [
    h('p', { class: 'sub' }, `Bus ${d.name ?? d.remote}`, d.name ? h('span', { class: 'muted' }, ` (${d.remote})`) : null, ` · seen from node ${d.node}`, d.trust ? ` · trust version ${d.trust.version}` : ''),
    offlineNotice(d.offline),
    notEnforcedNotice(d.trustNotEnforced),
    h(
      'section',
      { 'aria-labelledby': 'fleet-tasks' },
      h('h2', { id: 'fleet-tasks' }, 'Tasks'),
      counts.length ? h('ul', { class: 'counts' }, counts.map((s) => h('li', null, h('a', { href: `/tasks?state=${encodeURIComponent(s)}`, 'data-key': `count:${s}` }, stateBadge(s), ` ${d.counts[s]}`)))) : h('p', { class: 'muted' }, 'No tasks on the bus.'),
      d.problems ? h('p', null, h('a', { href: '/problems' }, `${d.problems} problem${d.problems === 1 ? '' : 's'} in the bus`)) : null,
      d.queued.length
        ? h('div', null, h('h3', null, `Queued here, not on the bus yet (${d.queued.length})`), h('ul', null, d.queued.map((q) => h('li', null, `${q.kind} ${q.id}`, q.title ? ` — ${q.title}` : ''))))
        : null,
    ),
    h('section', { 'aria-labelledby': 'fleet-nodes' }, h('h2', { id: 'fleet-nodes' }, `Nodes (${d.nodes.length})`), h('div', { class: 'node-grid' }, d.nodes.map((n) => nodeCard(n, d)))),
    cardlessSection(d.cardless ?? []),
  ];
}

/** Nodes on a bus with a trust root that do not enforce it (`trustNotEnforced` of `gitbus status`): they run unsigned work. */
function notEnforcedNotice(n) {
  if (!n || n.nodes.length === 0) return null;
  return notice('warn', `Nodes that do not enforce trust version ${n.version} and run any handoff, signed or not: `, n.nodes.map((x, i) => [i > 0 ? ', ' : '', h('bdi', { title: x.reason }, x.node)]), `. Fix: ${n.fix}`);
}

/** Nodes that beat with no card on main: taken off the bus while a watcher ran, or their card was removed. */
function cardlessSection(list) {
  if (list.length === 0) return null;
  return h(
    'section',
    { 'aria-labelledby': 'fleet-cardless' },
    h('h2', { id: 'fleet-cardless' }, `Beating with no card (${list.length})`),
    h('p', { class: 'muted' }, 'Taken off the bus while a watcher ran, or the card was removed. Stop that watcher and run "gitbus leave --node NAME", or restart that watcher to bring the node back (it publishes its card as it starts).'),
    // Its tasks: what it claimed before its card went is what `leave` waits for, or what the lease gives back.
    h('ul', null, list.map((n) => h('li', { 'data-cardless': n.node }, h('bdi', null, n.node), ' ', livenessBadge(n.liveness), n.heartbeat ? [' ', h('time', { datetime: n.heartbeat.at, title: n.heartbeat.at }, agoText(n.heartbeat.ageMs))] : null, ' ', h('a', { href: `/tasks?node=${encodeURIComponent(n.node)}`, 'data-key': `cardless-tasks:${n.node}` }, 'its tasks')))),
  );
}

export function fleetPage(el) {
  const body = h('div', { class: 'page-body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.append(title('Fleet'), body);
  const l = loader(() => getJson('/api/fleet'), (d) => replace(body, renderFleet(d)), (err) => replace(body, errorNotice(err)));
  void l.refresh();
  // A node goes silent by time alone, with nothing on the bus moving: read again now and then.
  const timer = setInterval(() => void l.refresh(), 15_000);
  return {
    refresh: l.refresh,
    heartbeats: true,
    dispose() {
      l.dispose();
      clearInterval(timer);
    },
  };
}
