import { describe, expect, it } from 'vitest';
import { besideBranch, mergeDeliveries, type DeliveryFile } from '../../bus/model/delivery-merge.js';
import { baseTaskView } from '../../bus/model/task-view.js';
import { resolvesIntegration } from '../../bus/model/merged-branches.js';
import { resultsRemote } from '../../bus/ops/branch-remote.js';
import type { FileRef, ForgedFile, TaskFiles } from '../../bus/model/types.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { filterTaskFiles, type JudgedFile } from '../../bus/trust/task-file-filter.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Delivery } from '../../schemas/delivery.js';
import { movedBranch } from '../../watcher/workspace/push.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { TaskResponse } from '../../schemas/response.js';

/**
 * A response that went out with its branch not pushed, and the delivery by the attempt's holder that says the project
 * remote took it later (docs/PROTOCOL.md §3a, "A push that lands later"): one merged view for every reader, and the
 * trust rule that counts a delivery only from the holder of its attempt.
 */

const ID = '20261204-190000-later1';
const HEAD = 'a'.repeat(40);
const BASE = 'b'.repeat(40);
const path = (a = 1) => `deliveries/${ID}.${a}.md`;

const response = (over: Partial<TaskResponse> = {}, project: Partial<NonNullable<TaskResponse['project']>> = {}): TaskResponse => ({
  id: ID,
  status: 'succeeded',
  node: 'w',
  attempt: 1,
  finished: '2026-12-04T19:00:00Z',
  project: { repo: '/srv/app.git', branch: 'feature/x', baseCommit: BASE, headCommit: HEAD, pushed: false, pushError: 'pre-receive hook declined', merged: ['a/one'], ...project },
  ...over,
});

const delivery = (over: Partial<Delivery> = {}): Delivery => ({ id: ID, attempt: 1, node: 'w', branch: 'feature/x', headCommit: HEAD, delivered: '2026-12-04T19:05:00Z', ...over });
const file = (d: Delivery, p = path(d.attempt)): DeliveryFile => ({ path: p, parsed: { ok: true, data: d, body: '', warnings: [] } });

describe('mergeDeliveries', () => {
  it('folds the holder\'s delivery into the response: pushed, no pushError, the rest as written', () => {
    const m = mergeDeliveries(response(), [file(delivery())]);
    expect(m.problems).toEqual([]);
    expect(m.response?.project).toEqual({ repo: '/srv/app.git', branch: 'feature/x', baseCommit: BASE, headCommit: HEAD, pushed: true, merged: ['a/one'] });
    expect(m.delivery).toMatchObject({ node: 'w', attempt: 1, path: path() });
    expect(resolvesIntegration(['a/one'], 'succeeded', m.response?.project)).toBe(true);
    expect(resolvesIntegration(['a/one'], 'succeeded', response().project)).toBe(false);
  });

  it('a push that went beside the branch names that branch, which readers then report', () => {
    const beside = besideBranch('feature/x', HEAD);
    expect(beside).toBe(`feature/x-moved-${HEAD.slice(0, 8)}`);
    expect(mergeDeliveries(response(), [file(delivery({ branch: beside }))]).response?.project).toMatchObject({ branch: beside, pushed: true });
  });

  it('a long branch\'s push beside it is the branch the watcher pushed to (movedBranch), and its delivery counts', () => {
    const long = `${'f/'.repeat(100)}${'x'.repeat(45)}.lock`;
    const pushedTo = movedBranch(long, HEAD);
    expect(pushedTo.length).toBeLessThanOrEqual(250);
    expect(besideBranch(long, HEAD)).toBe(pushedTo);
    const m = mergeDeliveries(response({}, { branch: long }), [file(delivery({ branch: pushedTo }))]);
    expect(m.problems).toEqual([]);
    expect(m.response?.project).toMatchObject({ branch: pushedTo, pushed: true });
  });

  it('the fetch command of a project name reads the URL the delivery gives, never one with credentials or a path', () => {
    const pushed = { ...response({}, { repo: 'app', pushed: true }).project! };
    expect(resultsRemote('app', pushed, '', 'https://git.example.com/app.git')).toBe('https://git.example.com/app.git');
    expect(resultsRemote('app', pushed, '', 'https://me:tok@git.example.com/app.git')).toBe('app');
    expect(resultsRemote('app', pushed, '', '/srv/app.git')).toBe('app');
    expect(resultsRemote('app', { ...pushed, pushed: false }, '', 'https://git.example.com/app.git')).toBe('app');
    expect(resultsRemote('/srv/app.git', { ...pushed, repo: '/srv/app.git' }, '', 'https://git.example.com/app.git')).toBe('/srv/app.git');
  });

  it('nothing to fold in leaves the response as written', () => {
    const r = response();
    expect(mergeDeliveries(r, [])).toEqual({ response: r, problems: [] });
  });

  it('a delivery that does not fit its response changes nothing and says why, by file and field', () => {
    const cases: [Partial<TaskResponse> | null, Partial<NonNullable<TaskResponse['project']>>, Delivery, string, RegExp][] = [
      [null, {}, delivery(), '', /the task has no response/],
      [{ attempt: 2 }, {}, delivery(), 'attempt', /the response ends attempt 2/],
      [{}, {}, delivery({ node: 'v' }), 'node', /in the name of node v, but the response of attempt 1 is node w's/],
      [{}, {}, delivery({ headCommit: 'c'.repeat(40) }), 'headCommit', /names commit cccccccccccc, but the response's results are at aaaaaaaaaaaa/],
      [{}, {}, delivery({ branch: 'elsewhere' }), 'branch', /names branch elsewhere, which is neither the response's feature\/x nor the branch beside it/],
    ];
    for (const [over, project, d, field, reason] of cases) {
      const r = over === null ? undefined : response(over, project);
      const m = mergeDeliveries(r, [file(d)]);
      expect(m.response).toBe(r);
      expect(m.delivery).toBeUndefined();
      expect(m.problems).toHaveLength(1);
      expect(m.problems[0]).toMatchObject({ path: path(), field, severity: 'error' });
      expect(m.problems[0]?.reason).toMatch(reason);
      expect(m.problems[0]?.fix).toMatch(/^remove it/);
    }
  });

  it('a response pushed already, or one without project work, keeps its word', () => {
    const pushed = response({}, { pushed: true });
    delete pushed.project?.pushError;
    const m = mergeDeliveries(pushed, [file(delivery())]);
    expect(m.response).toBe(pushed);
    expect(m.problems[0]).toMatchObject({ severity: 'warning' });
    const plain = response();
    delete plain.project;
    expect(mergeDeliveries(plain, [file(delivery())]).problems[0]?.reason).toMatch(/reports no project work/);
  });

  it('a response that pushed nothing on purpose (a failed run at its base) is not made pushed by a delivery', () => {
    const nothing = response({ status: 'failed' }, { headCommit: BASE });
    delete nothing.project?.pushError;
    const m = mergeDeliveries(nothing, [file(delivery({ headCommit: BASE }))]);
    expect(m.response).toBe(nothing);
    expect(m.delivery).toBeUndefined();
    expect(m.problems).toEqual([expect.objectContaining({ path: path(), severity: 'warning', reason: expect.stringContaining('pushed nothing on purpose') })]);
  });

  it('a second delivery, of another attempt than the response\'s, is a problem beside the one that counts', () => {
    const m = mergeDeliveries(response(), [file(delivery()), file(delivery({ attempt: 2 }))]);
    expect(m.response?.project?.pushed).toBe(true);
    expect(m.problems.map((p) => [p.path, p.field])).toEqual([[path(2), 'attempt']]);
  });
});

describe('a delivery file, parsed and seen in a task view', () => {
  it('renders and parses back; a bad or misnamed one is an error naming file and field', () => {
    const text = renderBusFile('delivery', delivery(), '');
    const ok = parseBusFile(path(), text);
    expect(ok.ok).toBe(true);
    const wrongAttempt = parseBusFile(path(2), text);
    expect(wrongAttempt.ok).toBe(false);
    if (!wrongAttempt.ok) expect(wrongAttempt.problems[0]).toMatchObject({ path: path(2), field: 'attempt' });
    const typo = parseBusFile(path(), text.replace('headCommit:', 'headComit:'));
    expect(typo.ok).toBe(false);
    if (!typo.ok) expect(typo.problems.map((p) => p.field)).toContain('headComit');
  });

  it('the view reads the merged result; a delivery that does not parse is a problem and the response stands', () => {
    const ref = (p: string): FileRef => ({ path: p, oid: p });
    const files: TaskFiles = { id: ID, handoff: ref(`handoffs/${ID}.md`), claims: new Map([[1, ref(`claims/${ID}.1.md`)]]), releases: new Map(), response: ref(`responses/${ID}.md`), deliveries: new Map([[1, ref(path())]]) };
    const handoff = { ok: true as const, data: { title: 't', repo: '/srv/app.git' } as Handoff, body: '', warnings: [] };
    const resp = { ok: true as const, data: response(), body: '', warnings: [] };
    const good = baseTaskView(files, { handoff, response: resp, deliveries: [file(delivery())] });
    expect(good.response?.project?.pushed).toBe(true);
    expect(good.delivery?.path).toBe(path());
    const broken = { path: path(), parsed: { ok: false as const, problems: [{ path: path(), field: '', reason: 'the file is 300000 bytes, more than the limit', fix: 'make it smaller', severity: 'error' as const }] } };
    const bad = baseTaskView(files, { handoff, response: resp, deliveries: [broken] });
    expect(bad.response?.project).toMatchObject({ pushed: false, pushError: 'pre-receive hook declined' });
    expect(bad.problems.map((p) => p.path)).toEqual([path()]);
  });
});

describe('a delivery counts only from the holder of its attempt, under trust', () => {
  async function judge(claimNode: string, deliveryNode: string, forgedOnItsOwn = false) {
    const ref = (p: string): FileRef => ({ path: p, oid: p });
    const files: TaskFiles = { id: ID, claims: new Map([[1, ref(`claims/${ID}.1.md`)]]), releases: new Map(), response: ref(`responses/${ID}.md`), deliveries: new Map([[1, ref(path())]]) };
    const nodes: Record<string, string> = { [`claims/${ID}.1.md`]: claimNode, [`responses/${ID}.md`]: claimNode, [path()]: deliveryNode };
    const judgeFile = async (r: FileRef, kind: ForgedFile['kind']): Promise<JudgedFile> => {
      const node = nodes[r.path] ?? null;
      if (forgedOnItsOwn && kind === 'delivery') return { forged: { path: r.path, kind, node, reason: 'unsigned in a listed node\'s name', fix: 'remove it' } };
      const data = kind === 'response' ? { node, status: 'succeeded', attempt: 1 } : { node };
      return { forged: null, path: r.path, where: r.path, signed: true, node, data };
    };
    const forged: ForgedFile[] = [];
    const out = await filterTaskFiles(files, judgeFile, forged);
    return { kept: [...(out.deliveries?.keys() ?? [])], forged, unchanged: out === files, original: files };
  }

  it('the holder\'s own counts, untouched', async () => {
    expect(await judge('w', 'w')).toMatchObject({ kept: [1], forged: [], unchanged: true });
  });

  it('one in another node\'s name is listed as forged, and the index shared with other snapshots is not changed', async () => {
    const r = await judge('w', 'v');
    expect(r.kept).toEqual([]);
    expect(r.forged).toEqual([expect.objectContaining({ path: path(), kind: 'delivery', node: 'v', id: ID })]);
    expect(r.forged[0]?.reason).toMatch(/only the node holding an attempt says that its branch reached the project remote/);
    expect(r.original.deliveries?.has(1)).toBe(true);
  });

  it('one of an attempt whose unsigned claim was dropped as a takeover is forged, though it names that claim\'s node', async () => {
    const ref = (p: string): FileRef => ({ path: p, oid: p });
    // w (listed) holds attempt 1; x (unlisted, unsigned) claims attempt 2 over it and delivers attempt 2.
    const files: TaskFiles = { id: ID, claims: new Map([[1, ref(`claims/${ID}.1.md`)], [2, ref(`claims/${ID}.2.md`)]]), releases: new Map(), deliveries: new Map([[2, ref(path(2))]]) };
    const nodes: Record<string, string> = { [`claims/${ID}.1.md`]: 'w', [`claims/${ID}.2.md`]: 'x', [path(2)]: 'x' };
    const judgeFile = async (r: FileRef): Promise<JudgedFile> => {
      const node = nodes[r.path] ?? null;
      return { forged: null, path: r.path, where: r.path, signed: node === 'w', node, data: { node } };
    };
    const forged: ForgedFile[] = [];
    const out = await filterTaskFiles(files, judgeFile, forged);
    expect([...out.claims.keys()]).toEqual([1]);
    expect(out.deliveries?.has(2)).toBe(false);
    expect(forged.map((f) => [f.kind, f.path])).toEqual([['claim', `claims/${ID}.2.md`], ['delivery', path(2)]]);
    expect(forged[1]?.reason).toContain('no claim of attempt 2 counts');
  });

  it('one its signature does not back is forged as the judge says', async () => {
    const r = await judge('w', 'w', true);
    expect(r.kept).toEqual([]);
    expect(r.forged[0]).toMatchObject({ kind: 'delivery', reason: 'unsigned in a listed node\'s name' });
  });
});

describe('a delivery is signed as a node file of its own kind', () => {
  it('in the namespace gitbus-delivery@v1, over a message that names its path', () => {
    const m = signedMessage(path(), new TextEncoder().encode('x'));
    expect(m).toMatchObject({ kind: 'delivery', namespace: 'gitbus-delivery@v1' });
    expect(m.message.toString('utf8')).toBe(`gitbus delivery v1\n${path()}\nx`);
  });
});
