// One task: what `gitbus show` prints (handoff, claims, releases, cancel, response, the project branch with its
// diffstat, the trust verdict on its handoff) and its output as `gitbus logs --follow` streams it.
import { byteSize, chips, errorNotice, facts, getJson, groupHref, h, offlineNotice, problemItem, replace, stateBadge, taskLink, usd, when } from './dom.js';
import { loader } from './pages.js';

const FINAL = ['succeeded', 'failed', 'cancelled', 'timed-out'];
/**
 * The server sends a page the last 8 MiB of a run's log (its window), then what comes after. A page left open on a
 * task that prints for hours would hold all of it: past two windows, it keeps the last one.
 */
const WINDOW_CHARS = 8 * 1024 * 1024;

function claudeText(c) {
  if (!c) return null;
  const bits = [c.subtype, c.turns !== undefined ? `${c.turns} turn${c.turns === 1 ? '' : 's'}` : null, c.costUsd !== undefined ? usd(c.costUsd) : null, c.model].filter(Boolean);
  return [bits.join(', '), c.sessionId ? [' · session ', h('code', null, c.sessionId)] : null];
}

function diffstat(r) {
  if (!r) return null;
  return `${r.commits ?? 0} commit${r.commits === 1 ? '' : 's'}, ${r.files ?? 0} file${r.files === 1 ? '' : 's'} changed, +${r.insertions ?? 0} −${r.deletions ?? 0}`;
}

function branchSection(b, id) {
  if (!b) return null;
  const r = b.report ?? null;
  // As bus/project/push-state.ts says it: a conflicted integration left its branch as it was, nothing is coming.
  const conflicts = r?.conflicts?.length ?? 0;
  // And a failed run that made no commit over its base (schemas/project.ts pushedNothing): its branch was never made.
  const nothing = b.pushed === false && r !== null && r.pushError === undefined && conflicts === 0 && r.headCommit === r.baseCommit;
  const state = b.pushed === null ? 'results go here when it ends' : b.pushed ? (b.delivered ? `pushed after its response went out (${b.delivered.path}, ${b.delivered.at})` : 'pushed') : conflicts > 0 ? `not pushed: ${conflicts} branch${conflicts === 1 ? '' : 'es'} conflict; gitbus resolve ${id}` : nothing ? 'not pushed: the run made no commit over its base, so there was nothing to push' : `not pushed yet${r?.pushError ? `: ${r.pushError}` : ''}`;
  return h(
    'section',
    { 'aria-labelledby': 'branch-h' },
    h('h2', { id: 'branch-h' }, 'Branch'),
    facts([
      ['Branch', h('code', null, b.branch)],
      ['Repository', h('code', null, b.repo)],
      ['State', state],
      ['Changes', diffstat(r)],
      ['Commits', r?.subjects?.length ? h('ul', { class: 'plain' }, r.subjects.map((s) => h('li', null, s))) : null],
      ['Merged', chips(r?.merged)],
      ['Conflicts', r?.conflicts?.length ? h('ul', { class: 'plain' }, r.conflicts.map((c) => h('li', null, h('code', null, c.branch), `: ${c.files.join(', ')}`))) : null],
      ['Fetch', conflicts > 0 || nothing ? null : h('code', { class: 'copy' }, b.fetch)],
    ]),
  );
}

// `delivering`: the run ended on its node, whose heartbeat says its result waits there for the project remote.
function summaryFacts(s, delivering) {
  if (!s) return null;
  return facts([
    ['From', s.from],
    ['To', s.to],
    ['Created', when(s.created)],
    ['Runner', s.runner],
    ['Labels', chips(s.labels)],
    ['Priority', s.priority ? String(s.priority) : null],
    ['Attempts', s.attempts ? String(s.attempts) : null],
    ['Claimed by', s.claim ? `${s.claim.node ?? '?'} (attempt ${s.claim.attempt})` : null],
    ['Ended', s.response ? [stateBadge(s.response.status), ` on ${s.response.node} `, when(s.response.finished)] : null],
    ['Waiting on', s.waitingOn.length ? h('ul', { class: 'plain' }, s.waitingOn.map((d) => h('li', null, taskLink(d.id, d.id, false), ' ', stateBadge(d.state)))) : null],
    ['Group', s.group ? h('a', { href: groupHref(s.group) }, s.group) : null],
    ['Claude', claudeText(s.claude)],
    ['Progress', s.progress ? [s.progress.text, ' ', when(s.progress.at)] : null],
    ['Result', delivering && s.claim ? [`finished on ${s.claim.node ?? '?'}; its result waits for the project remote (${delivering.reason}) since `, when(delivering.since), ', and goes out when it answers'] : null],
  ]);
}

// On a node that pinned the trust root, its verdict on the handoff (`trust` of `gitbus show`): whether it would run
// it, signed by whom, or why not, with the fix. Nothing on a node without one.
function trustSection(v) {
  if (!v) return null;
  const [word, tone] = v.trusted ? ['runs here', 'ok'] : v.notForThisNode ? ['not for this node', 'off'] : ['refused here', 'bad'];
  return h(
    'section',
    { 'aria-labelledby': 'trust-h' },
    h('h2', { id: 'trust-h' }, 'Trust'),
    h('p', null, h('span', { class: `badge tone-${tone}` }, word), ' ', h('span', { class: 'muted' }, `trust version ${v.version}`)),
    h('p', { tabindex: '0', 'data-key': 'trust' }, v.reason),
    v.fix ? h('p', { class: 'fix' }, 'Fix: ', v.fix) : null,
  );
}

// What is wrong with the task's files, as `gitbus show` lists them: why an invalid task is invalid, and the fix.
function problemsSection(problems) {
  if (!problems?.length) return null;
  return h(
    'section',
    { 'aria-labelledby': 'problems-h' },
    h('h2', { id: 'problems-h' }, `Problems (${problems.length})`),
    h('ul', { class: 'problem-list' }, problems.map((p, i) => problemItem(p, { tabindex: '0', 'data-key': `problem:${i}` }))),
  );
}

function filesSection(files) {
  return h(
    'section',
    { 'aria-labelledby': 'files-h' },
    h('h2', { id: 'files-h' }, 'Files'),
    files.map((f, i) => h('section', { class: 'file' }, h('h3', null, h('code', null, f.path)), h('pre', { tabindex: '0', 'aria-label': f.path, 'data-key': `file:${i}` }, f.text))),
  );
}

// Files this node does not count as the task's, forged in a node's name (under trust; `forged` of `gitbus show`, live
// or archived): named apart with why and the fix, never among the Files.
function forgedSection(forged) {
  if (!forged?.length) return null;
  return h(
    'section',
    { 'aria-labelledby': 'forged-h' },
    h('h2', { id: 'forged-h' }, `Ignored, forged in a node’s name (${forged.length})`),
    h(
      'ul',
      { class: 'problem-list' },
      forged.map((f, i) =>
        h(
          'li',
          { class: 'problem severity-error' },
          h('p', null, h('span', { class: 'badge tone-bad' }, 'forged'), ' ', h('code', { tabindex: '0', 'data-key': `forged:${i}` }, f.path), f.node ? [' ', h('span', { class: 'muted' }, `(in the name of ${f.node})`)] : null),
          h('p', null, f.reason),
          h('p', { class: 'fix' }, 'Fix: ', f.fix),
        ),
      ),
    ),
  );
}

export function taskPage(el, ref) {
  const heading = h('h1', { tabindex: '-1' }, ref);
  document.title = `Task ${ref} · gitbus`;
  const sub = h('p', { class: 'sub' });
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const outState = h('span', { class: 'muted' }, 'connecting…');
  const pre = h('pre', { class: 'output', tabindex: '0', 'aria-label': 'Output', 'aria-live': 'off' });
  // The page holds the end of a long log: what came before it, and where all of it is.
  const before = h('p', { class: 'muted', hidden: true });
  const outputSection = h('section', { 'aria-labelledby': 'output-h' }, h('h2', { id: 'output-h' }, 'Output ', outState), before, pre);
  const files = h('div');
  el.append(heading, sub, body, outputSection, files);

  let stream = null;
  let ended = false;
  /** How many characters the output shows, and where the whole log is (from the last reset), for the note above it. */
  let shown = 0;
  let logPath = null;
  const keepLastWindow = () => {
    const text = pre.textContent;
    const from = text.indexOf('\n', text.length - WINDOW_CHARS);
    pre.textContent = text.slice(from >= 0 ? from + 1 : text.length - WINDOW_CHARS);
    shown = pre.textContent.length;
    before.hidden = false;
    before.textContent = `Not shown here: the run's earlier output (this page keeps the last ${byteSize(WINDOW_CHARS)}).${logPath ? ` All of it is in ${logPath} on the machine serving this page.` : ''}`;
  };
  const follow = () => {
    stream?.close();
    ended = false;
    stream = new EventSource(`/api/task/${encodeURIComponent(ref)}/output`);
    stream.addEventListener('output', (e) => {
      const o = JSON.parse(e.data);
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      if (o.reset) {
        pre.textContent = o.text;
        shown = o.text.length;
        logPath = o.before?.path ?? null;
        before.hidden = !o.before;
        before.textContent = o.before ? `Not shown here: ${o.before.about ? 'about ' : ''}the first ${byteSize(o.before.bytes)} of the run's log. All of it is in ${o.before.path} on the machine serving this page.` : '';
      } else if (o.text) {
        pre.append(document.createTextNode(o.text));
        shown += o.text.length;
        if (shown > 2 * WINDOW_CHARS) keepLastWindow();
      }
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      const from = o.source === 'local' ? 'from this node’s log' : o.source === 'heartbeat' ? `live from ${o.node}’s heartbeat` : o.source === 'response' ? 'from the response' : 'none yet';
      outState.textContent = FINAL.includes(o.state) ? `(${from})` : `(${from}, following)`;
    });
    stream.addEventListener('end', () => {
      ended = true;
      stream.close();
      if (!pre.textContent) outState.textContent = '(none)';
    });
    stream.addEventListener('error', (e) => {
      // A server-sent `error` event carries data; the EventSource's own has none (the connection dropped).
      if (e.data) {
        ended = true;
        stream.close();
        outState.textContent = `(${JSON.parse(e.data).message})`;
      } else if (stream.readyState === EventSource.CLOSED && !ended) {
        // Refused, not dropped (the browser retries a dropped one itself): the server serves too many streams (503).
        outState.textContent = '(not following: the server has too many streams open; trying again in 10 s)';
        const refused = stream;
        setTimeout(() => {
          if (stream === refused && !ended) follow();
        }, 10_000);
      }
    });
  };

  const l = loader(
    () => getJson(`/api/task/${encodeURIComponent(ref)}`),
    (t) => {
      const s = t.summary;
      heading.textContent = s?.title ?? (t.archived ? `Task ${t.id}` : '(unreadable handoff)');
      document.title = `${s?.title ?? t.id} · gitbus`;
      replace(sub, h('code', null, t.id), ' ', stateBadge(t.state), t.archived ? ` archived ${t.archived}` : '');
      replace(body, offlineNotice(t.offline), problemsSection(s?.problems), summaryFacts(s, t.delivering), trustSection(t.trust), branchSection(t.branch, t.id));
      replace(files, filesSection(t.files), forgedSection(t.forged));
      if (t.archived) {
        // An archived task's output is the Output section of its response, shown below.
        stream?.close();
        ended = true;
        pre.hidden = true;
        outState.textContent = '(archived: in the response below)';
      } else if (ended && !FINAL.includes(t.state)) follow(); // a new attempt after a release has new output
    },
    (err) => {
      replace(body, errorNotice(err));
      replace(files);
    },
  );
  follow();
  void l.refresh();
  return {
    refresh: l.refresh,
    dispose() {
      l.dispose();
      stream?.close();
    },
  };
}
