import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus } from '../../bus/context.js';
import { mayEverClaim } from '../../bus/model/planner.js';
import { handoffTests } from '../../bus/model/snapshot-memos.js';
import { snapshotOrLast } from '../../bus/ops/query.js';
import { MAIN } from '../../bus/repo.js';
import { loadKeyed, saveKeyed } from '../../bus/store/keyed-cache-file.js';
import { BUILD_ID } from '../../bus/store/parse-cache.js';
import { checksum } from '../../bus/store/header-line.js';
import type { HandoffFacts } from '../../bus/store/parse-cache-file.js';
import { makeBus } from '../helpers/bus.js';
import { gitCli } from '../helpers/cli.js';
import { commitAndPush } from '../helpers/work-clone.js';

/**
 * Snapshot.handoffIdsWhere's answers kept on disk (bus/model/handoff-tests.ts): a command in a process of its own
 * reads the answer kept for its tree, or works out its tree's from another's, reading only the handoffs that
 * differ. Whatever way it got there, the answer is what testing every live handoff gives.
 */
describe('handoff tests kept on disk', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  const home = () => bus.home('alpha');
  const dir = () => join(home(), 'clone.git', 'gitbus-cache', 'handoff-tests');
  const fileOf = (key: string) => join(dir(), `${checksum(Buffer.from(key, 'utf8'))}.cache`);
  const file = () => fileOf(`1 ${KEY}`);
  const self = { node: 'alpha', labels: ['gpu'], runners: ['shell'] };
  const KEY = `claim ${JSON.stringify([self.node, self.labels, self.runners])}`;
  const test = (h: HandoffFacts) => mayEverClaim(h, self);
  const KIND = { magic: 'gitbus-handoff-tests\n', format: 1, maxBytes: 8 * 1024 * 1024, validKey: () => true };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    for (let i = 0; i < 30; i++) {
      const front = i % 3 === 0 ? 'labels: [gpu]' : i % 3 === 1 ? 'labels: [arm]' : i % 5 === 0 ? 'to: beta' : 'runner: manual';
      writeFileSync(join(work, 'handoffs', `t-${String(i).padStart(2, '0')}.md`), `---\ntitle: t ${i}\ncommand: "true"\n${front}\n---\n`);
    }
    writeFileSync(join(work, 'handoffs', 'bad.md'), '---\ntitle: [unclosed\n---\n');
    push('pool');
  });
  afterAll(async () => bus?.cleanup());

  const push = (message: string) => commitAndPush(work, message);

  /** The answer a command in a process of its own gets (no answer in memory), and what testing every handoff gives. */
  async function answer(unparsed = true, key = KEY): Promise<{ got: string[]; expected: string[]; tree: string; linked: string | undefined; repairs: number }> {
    const ctx = await openBus(home());
    try {
      const { snap } = await snapshotOrLast(ctx, (await ctx.repo.sync(MAIN)) as string);
      handoffTests.clear();
      // Counted, not replaced: a repair lists the remote and fetches, which an answer never needs.
      let repairs = 0;
      const repair = ctx.repo.store.repair;
      ctx.repo.store.repair = async (oid, damage) => {
        repairs++;
        await repair?.(oid, damage);
      };
      const got = await snap.handoffIdsWhere(key, test, unparsed);
      const expected: string[] = [];
      for (const id of snap.ids()) {
        const h = await snap.handoffOf(id);
        if (h === undefined ? unparsed : test(h)) expected.push(id);
      }
      // What status lists of the task whose handoff becomes a link (in this process, which parsed its blob as a file).
      const linked = (await snap.rowViews(['t-04']))[0]?.state;
      return { got, expected, tree: snap.liveFolder('handoffs')?.tree ?? '', linked, repairs };
    } finally {
      await ctx.repo.close();
    }
  }
  const kept = () => loadKeyed(file(), KIND, BUILD_ID).get(`1 ${KEY}`) as { tree: string; ids: string[] } | undefined;

  it('is what testing every handoff gives, after each kind of change, each worked out from the answer kept before it', async () => {
    const first = await answer();
    expect(first.got).toEqual(first.expected);
    expect(first.got).toContain('bad');
    expect(kept()).toEqual({ tree: first.tree, ids: first.got });
    const changes: [string, () => void][] = [
      ['a handoff this node may take', () => writeFileSync(join(work, 'handoffs', 'new-gpu.md'), '---\ntitle: new\ncommand: "true"\nlabels: [gpu]\n---\n')],
      ['one it may not', () => writeFileSync(join(work, 'handoffs', 'new-arm.md'), '---\ntitle: new\ncommand: "true"\nlabels: [arm]\n---\n')],
      ['an edit that lets it take one', () => writeFileSync(join(work, 'handoffs', 't-01.md'), '---\ntitle: t 1\ncommand: "true"\nlabels: [gpu]\n---\n')],
      ['an edit that no longer does', () => writeFileSync(join(work, 'handoffs', 't-00.md'), '---\ntitle: t 0\ncommand: "true"\nto: beta\n---\n')],
      ['a handoff removed', () => unlinkSync(join(work, 'handoffs', 't-03.md'))],
      ['one that does not parse', () => writeFileSync(join(work, 'handoffs', 't-06.md'), '---\ntitle: [\n---\n')],
      ['the same blob made executable', () => chmodSync(join(work, 'handoffs', 't-09.md'), 0o755)],
      // A link is no file to read, whatever its blob (a link's blob is its target): it passes as a handoff that does
      // not parse, which this one, for another label, did not.
      ['the same blob as a link', () => {
        const path = join(work, 'handoffs', 't-04.md');
        const text = readFileSync(path, 'utf8');
        unlinkSync(path);
        symlinkSync(text, path);
      }],
      ['nothing of the handoffs', () => undefined],
    ];
    for (const [label, change] of changes) {
      change();
      push(label);
      const a = await answer();
      expect(a.got, label).toEqual(a.expected);
      expect(a.tree, label).toBe(gitCli(['rev-parse', 'HEAD:handoffs'], work).trim());
      expect(kept(), label).toEqual({ tree: a.tree, ids: a.got });
    }
    const last = await answer();
    expect(last.got).toContain('new-gpu');
    expect(last.got).toContain('t-01');
    expect(last.got).not.toContain('t-00');
    expect(last.got).toContain('t-06');
    expect(first.got).not.toContain('t-04');
    expect(first.linked).toBe('pending');
    expect(last.got).toContain('t-04');
    expect(last.linked).toBe('invalid');
    expect(last.got).toContain('t-09');
    // Asked without `unparsed`: its own answer, kept beside the other.
    const strict = await answer(false);
    expect(strict.got).toEqual(strict.expected);
    expect(strict.got).not.toContain('t-06');
  });

  it('reads the answer kept for its tree, works everything out again from one of a tree the clone lacks, and ignores a damaged file', async () => {
    const { tree, expected } = await answer();
    const keep = (ids: string[], of: string) => saveKeyed(dir(), `${checksum(Buffer.from(`1 ${KEY}`, 'utf8'))}.cache`, KIND, new Map([[`1 ${KEY}`, { tree: of, ids }]]), BUILD_ID);
    // Kept for this tree: read as it is, no handoff read (a made-up answer shows which was used).
    keep(['made-up'], tree);
    expect((await answer()).got).toEqual(['made-up']);
    // Of a tree the clone does not hold: every handoff is read, and nothing is fetched to compare with it.
    keep(['made-up'], 'f'.repeat(40));
    const lacking = await answer();
    expect(lacking.got).toEqual(expected);
    expect(lacking.repairs).toBe(0);
    const bytes = readFileSync(file());
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
    writeFileSync(file(), bytes);
    expect((await answer()).got).toEqual(expected);
    expect(kept()).toEqual({ tree, ids: expected });
  });

  it('keeps each key in a file of its own, a long key too, and the 16 newest keys', async () => {
    const long = `workstreams /srv/app.git g ${'feature/a-long-branch-name-'.repeat(200)}`;
    expect(long.length).toBeGreaterThan(4096);
    const other = await answer(true, long);
    expect(other.got).toEqual(other.expected);
    expect(loadKeyed(fileOf(`1 ${long}`), KIND, BUILD_ID).get(`1 ${long}`)).toEqual({ tree: other.tree, ids: other.got });
    expect(kept()).toEqual({ tree: other.tree, ids: (await answer()).got });
    for (let i = 0; i < 20; i++) await answer(true, `key ${i}`);
    const files = readdirSync(dir());
    expect(files).toHaveLength(16);
    expect(files).toContain(`${checksum(Buffer.from('1 key 19', 'utf8'))}.cache`);
    expect(files).not.toContain(`${checksum(Buffer.from('1 key 0', 'utf8'))}.cache`);
  });
});
