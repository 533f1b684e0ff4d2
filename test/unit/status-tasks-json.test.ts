import { describe, expect, it } from 'vitest';
import type { StatusTask } from '../../bus/ops/status-core.js';
import { summaryLine, summaryPayload, summaryPieces } from '../../bus/ops/status-digest-file.js';
import { tasksJsonOf, tasksJsonOfPayload } from '../../bus/ops/status-tasks-json.js';
import type { TaskState } from '../../bus/model/types.js';
import { jsonWithRaw } from '../../cli/json-raw.js';
import { pick, prng } from '../helpers/seeded-random.js';

/**
 * `status --json` writes a status digest's summaries payload as it is, with only its claimed and cancelling tasks
 * parsed and filled in (bus/ops/status-tasks-json.ts), inside the status written around it (cli/json-raw.ts).
 */
const STATES: TaskState[] = ['pending', 'blocked', 'claimed', 'cancelling', 'succeeded', 'failed', 'cancelled', 'timed-out', 'invalid', 'unsupported', 'scheduled'];
/** Pieces of titles and reasons that look like a summary's own fields once written, or that JSON escapes. */
const PIECES = ['a', ' ', '"', '\\', '","state":"claimed"', '","state":"cancelling"', '{"id":"x', '\n', ',\n    ', '}', 'é', '\u2028', 'claimed', '\u0000'];

function text(rand: () => number, max: number): string {
  let s = '';
  for (let n = Math.floor(rand() * (max + 1)); n > 0; n--) s += pick(rand, PIECES);
  return s;
}

function task(rand: () => number, i: number): StatusTask {
  const state = pick(rand, STATES);
  const held = state === 'claimed' || state === 'cancelling';
  return {
    id: `t-${i}`,
    state,
    title: text(rand, 6),
    from: pick(rand, [null, 'alpha']),
    created: '2026-11-01T00:00:00.000Z',
    to: pick(rand, [null, 'beta']),
    labels: rand() < 0.5 ? [] : ['gpu', text(rand, 2)],
    runner: 'shell',
    priority: i % 3,
    attempts: held ? 1 : 0,
    exhausted: false,
    claim: held ? { attempt: 1, node: 'beta' } : null,
    response: null,
    // A dependency's state is written as a summary's own is: `","state":"claimed"` inside another task's line.
    waitingFor: [],
    waitingOn: rand() < 0.4 ? [{ id: `t-${i + 1}`, state: pick(rand, ['claimed', 'cancelling', 'pending']) }] : [],
    problems: rand() < 0.2 ? [{ path: `handoffs/t-${i}.md`, field: 'title', reason: text(rand, 4), fix: 'fix it', severity: 'warning' }] : [],
    repo: null,
    branch: null,
    group: null,
    claude: null,
    progress: null,
    ...(state === 'pending' && rand() < 0.5 ? { noTaker: `no node can take it: ${text(rand, 3)}` } : {}),
  };
}

/** The lines of a payload as views of its bytes, as a digest file's reader finds them. */
function viewsOf(payload: Buffer): Buffer[] {
  const body = payload.subarray('[\n    '.length, payload.length - '\n  ]'.length);
  const out: Buffer[] = [];
  for (let at = 0; at <= body.length; ) {
    const nl = body.indexOf('\n', at);
    const end = nl < 0 ? body.length : nl - 1;
    out.push(body.subarray(at, end));
    at = nl < 0 ? body.length + 1 : nl + '\n    '.length;
  }
  return out;
}

/** What status fills in: progress and, on a claimed task, delivering (changed in place, as status changes them). */
function fill(t: StatusTask): StatusTask {
  t.progress = { text: `working on ${t.id}`, at: '2026-11-30T00:00:00.000Z' };
  if (t.state === 'claimed') t.delivering = { since: '2026-11-30T00:00:00.000Z', reason: 'the project remote is down' };
  return t;
}

describe('status --json from a digest payload', () => {
  it('writes every line as it is but those of claimed and cancelling tasks, which it fills in, over 300 random payloads', () => {
    const rand = prng(4242);
    let filled = 0;
    let kept = 0;
    let pieces = 0;
    for (let round = 0; round < 300; round++) {
      const tasks = Array.from({ length: 1 + Math.floor(rand() * 12) }, (_, i) => task(rand, i));
      // As a derived status has them: runs of an earlier payload's lines (views of its bytes) and lines of its own.
      const earlier = viewsOf(summaryPayload(tasks.map(summaryLine)));
      const lines = earlier.map((l) => (rand() < 0.3 ? Buffer.from(l) : l));
      const payload = summaryPieces(lines);
      pieces += payload.length;
      const out = Buffer.concat(
        tasksJsonOfPayload(payload, (t) => {
          filled++;
          return fill(t);
        }),
      );
      const want = tasks.map((t) => (t.state === 'claimed' || t.state === 'cancelling' ? fill(structuredClone(t)) : t));
      expect(JSON.parse(out.toString('utf8'))).toEqual(want);
      // Laid out as the payload is, and the lines of every other task are the payload's own bytes.
      expect(out).toEqual(summaryPayload(want.map(summaryLine)));
      tasks.forEach((t, i) => {
        if (t.state !== 'claimed' && t.state !== 'cancelling') {
          expect(out.includes(lines[i] as Buffer)).toBe(true);
          kept++;
        }
      });
    }
    expect(filled).toBeGreaterThan(100);
    expect(kept).toBeGreaterThan(100);
    // Many payloads came in several pieces: a line at a piece's start or end is found as one in the middle is.
    expect(pieces).toBeGreaterThan(300 * 3);
  });

  it('fills in too the lines the needles name, or every pending line, for takersDown, and only those: over 300 random payloads', () => {
    const rand = prng(2718);
    // A pending task for node beta, or needing the gpu label, waits on a node that is down (as status judges it).
    const down = (t: StatusTask) => t.state === 'pending' && !t.noTaker && (t.to === 'beta' || t.labels.includes('gpu'));
    const fillDown = (t: StatusTask): StatusTask => {
      if (down(t)) t.takersDown = 'node beta is stopped';
      return t;
    };
    const needles = [',"to":"beta","labels":', '"gpu"'].map((n) => Buffer.from(n, 'utf8'));
    let marked = 0;
    for (let round = 0; round < 300; round++) {
      const tasks = Array.from({ length: 1 + Math.floor(rand() * 12) }, (_, i) => task(rand, i));
      // Titles that hold what the needles look for: inside a string it is escaped, and never taken for a field.
      for (const t of tasks) if (rand() < 0.3) t.title = pick(rand, ['"gpu"', ',"to":"beta","labels":', 'gpu', '","state":"pending"']);
      const payload = summaryPieces(viewsOf(summaryPayload(tasks.map(summaryLine))));
      const allPending = rand() < 0.3;
      const out = Buffer.concat(tasksJsonOfPayload(payload, fillDown, { needles, allPending }));
      const want = tasks.map((t) => (t.state === 'claimed' || t.state === 'cancelling' || down(t) ? fillDown(structuredClone(t)) : t));
      expect(out).toEqual(summaryPayload(want.map(summaryLine)));
      marked += want.filter((t) => t.takersDown !== undefined).length;
    }
    expect(marked).toBeGreaterThan(50);
  });

  it('hands back the payload itself when no task is of the moment, and an empty list as []', () => {
    const rand = prng(7);
    const tasks = Array.from({ length: 20 }, (_, i) => ({ ...task(rand, i), state: 'pending' as const, claim: null, waitingOn: [{ id: 'd', state: 'claimed' }] }));
    const payload = summaryPayload(tasks.map(summaryLine));
    const [out, ...more] = tasksJsonOfPayload([payload], () => expect.unreachable('nothing to fill'));
    expect(out).toBe(payload);
    expect(more).toEqual([]);
    expect(Buffer.concat(tasksJsonOf([])).toString('utf8')).toBe('[]');
    expect(Buffer.concat(tasksJsonOfPayload([Buffer.from('[]')], fill)).toString('utf8')).toBe('[]');
  });

  it('is written inside the status as JSON.stringify would write it, the tasks one a line', () => {
    const rand = prng(99);
    const tasks = Array.from({ length: 5 }, (_, i) => task(rand, i));
    const status = { node: 'alpha', head: null, nested: { a: [1, { b: 'two\nlines' }], none: undefined }, tasks: [] as StatusTask[], empty: {}, list: [], last: 'x\u2028y' };
    const raw = tasksJsonOf(tasks);
    const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString('utf8');
    const out = text(jsonWithRaw(status, 'tasks', raw));
    expect(JSON.parse(out)).toEqual({ ...status, tasks });
    // Around the tasks, byte for byte what --json writes; each task on a line of its own.
    expect(text(jsonWithRaw(status, 'tasks', [Buffer.from('[]')]))).toBe(JSON.stringify(status, null, 2));
    expect(out.split('\n').filter((l) => l.startsWith('    {"id":'))).toHaveLength(tasks.length);
    expect(text(jsonWithRaw({}, 'tasks', raw))).toBe('{}');
  });
});
