import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { editNode, makeProject } from '../helpers/project.js';
import { pushFiles } from '../helpers/push-access.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { claimRank, type RankNode } from '../../bus/model/claim-rank.js';

/**
 * Node cards' refusals in the claim ranking and in `status` (docs/PROTOCOL.md §5 "Who claims first", §6), with two
 * real watchers: wa's policy allows a 1 m timeout at most and only the project repo a; wb takes only the projects
 * its node.yaml lists (b). A node whose card refuses a task is not ranked for it, so it does not hold back the node
 * that takes it; and when every card refuses a task, status says nobody can take it, from its digest too.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let person: string;
let wa: WatcherProcess;
let wb: WatcherProcess;
const children: ChildProcess[] = [];
const explain = () => `wa:\n${wa.stderr()}\nwb:\n${wb.stderr()}`;
const onMain = (folder: string) => gitCli(['ls-tree', '--name-only', 'main', `${folder}/`], bus.remote).split('\n').filter(Boolean);

/** The first of `prefix-0`, `prefix-1`, … for which `first` ranks ahead of the other of two able nodes. */
function idRankedFirst(prefix: string, first: string, other: string): string {
  const plain: RankNode[] = [first, other].map((node) => ({ node, live: true, holding: 0, card: { runners: ['manual', 'shell'], parallel: 1 } }));
  for (let i = 0; i < 1000; i++) if (claimRank(`${prefix}-${i}`, { command: 'true' }, plain, first) === 0) return `${prefix}-${i}`;
  throw new Error(`no id of ${prefix} ranks ${first} first`);
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  const a = makeProject(bus.dir, 'a');
  const b = makeProject(bus.dir, 'b');
  const homeA = await bus.addNode('wa', [], ['--runner', 'shell']);
  const homeB = await bus.addNode('wb', [], ['--runner', 'shell']);
  editNode(homeA, (c) => ({ ...c, policy: { maxTimeout: '1m', repos: [a.remote] } }));
  editNode(homeB, (c) => ({ ...c, projects: { b: { url: b.remote } }, projectsOnly: true }));
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
  wa = startWatcher(homeA, ['--poll', '2s'], children);
  wb = startWatcher(homeB, ['--poll', '2s'], children);
  // Their cards, with what their policies refuse, go out when the watchers start.
  await until('both watchers to start', () => [wa, wb].every((w) => w.events().some((e) => e.type === 'started')), 30_000, explain);
  const card = (node: string) => gitCli(['show', `main:nodes/${node}.md`], bus.remote);
  await until("the cards to carry the nodes' policies", () => card('wa').includes('maxTimeout') && card('wb').includes('projectsOnly'), 30_000, explain);
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe("node cards' refusals", () => {
  it('leave a task to the node that takes it: the refusing node, hashed first, does not hold it back by a rank step', async () => {
    // `long` asks a 10 m timeout, which wa's card refuses, and wa would rank first for it; wb ranks first for
    // `short`, which both take. wb has one slot and `long` the higher priority. Ranked with wa, wb would find only
    // `short` due at once, take it, and `long` would wait for it; ranked without wa, wb takes `long` first, and wa
    // (second for `short`) takes `short` once wb's claim fills wb's slot.
    const long = idRankedFirst('long', 'wa', 'wb');
    const short = idRankedFirst('short', 'wb', 'wa');
    const mark = join(bus.dir, 'long-may-end');
    const waitForMark = `for i in $(seq 600); do [ -e '${mark}' ] && exit 0; sleep 0.1; done; exit 1`;
    pushFiles(person, {
      [`handoffs/${long}.md`]: `---\ntitle: long\npriority: 5\ntimeout: 10m\ncommand: ${JSON.stringify(waitForMark)}\n---\n`,
      [`handoffs/${short}.md`]: `---\ntitle: short\ncommand: "true"\n---\n`,
    }, 'two tasks');
    const claimedBy = (w: WatcherProcess) => w.events().filter((e) => e.type === 'claimed').map((e) => e.id);
    // Each watcher says what it claimed once its push is through: wait for both to say it, not only for main.
    await until('both tasks to be claimed', () => onMain('claims').length === 2 && claimedBy(wa).length > 0 && claimedBy(wb).length > 0, 30_000, explain);
    expect(claimedBy(wb)[0]).toBe(long);
    expect(claimedBy(wa)).toEqual([short]);
    expect(onMain('claims').sort()).toEqual([`claims/${long}.1.md`, `claims/${short}.1.md`]);
    // wa left `long` for others: it said so, and claimed nothing of it.
    await until('wa to say it leaves `long` for others', () => wa.events().some((e) => e.type === 'refused' && e.id === long), 20_000, explain);
    expect(wa.events().find((e) => e.type === 'refused' && e.id === long)).toMatchObject({ reason: expect.stringContaining('policy.maxTimeout') });
    writeFileSync(mark, '');
    await until('both tasks to be answered', () => onMain('responses').length === 2, 30_000, explain);
    expect(onMain('responses').sort()).toEqual([`responses/${long}.md`, `responses/${short}.md`].sort());
  }, 90_000);

  it("say in status that nobody can take a project task every node's card refuses, also when status reads its digest", async () => {
    const other = 'https://example.invalid/o/other.git';
    // Enough tasks for status to keep a digest of the commit (DIGEST_MIN_TASKS); with a label nobody has, they wait.
    const fillers = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`handoffs/filler-${String(i).padStart(2, '0')}.md`, `---\ntitle: filler ${i}\nlabels: [nobody]\ncommand: "true"\n---\n`]));
    pushFiles(person, { ...fillers, 'handoffs/nobodys.md': `---\ntitle: nobody's\npriority: 1\nrepo: ${other}\ncommand: "true"\n---\n` }, 'a task for a repo nobody works on');
    await until('both watchers to leave it for others', () => [wa, wb].every((w) => w.events().some((e) => e.type === 'refused' && e.id === 'nobodys')), 30_000, explain);
    type Status = { head: string; tasks: { id: string; state: string; repo: string | null; noTaker?: string }[] };
    const status = async () => {
      const r = await gitbus(['status', '--json'], { home: bus.home('boss') });
      expect(r.code, r.stderr).toBe(0);
      return json<Status>(r);
    };
    const first = await status();
    const digest = join(bus.home('boss'), 'clone.git', 'gitbus-cache', 'status', `${first.head}.digest`);
    expect(existsSync(digest)).toBe(true);
    const second = await status();
    expect(second.head).toBe(first.head);
    for (const s of [first, second]) {
      const task = s.tasks.find((t) => t.id === 'nobodys');
      expect(task).toMatchObject({ state: 'pending', repo: other });
      expect(task?.noTaker).toMatch(/^no node can take it: boss: it does not offer the shell runner; wa: its policy refuses it \(policy\.repos: node wa works only on .*a\.git, and the task's repo is "https:\/\/example\.invalid\/o\/other\.git"\); wb: its policy refuses it \(projectsOnly: node wb takes project tasks only for the projects its node\.yaml lists \(b\)/);
    }
    // The text status says it under the task.
    const text = await gitbus(['status'], { home: bus.home('boss') });
    expect(text.stdout).toContain('waits: no node can take it: boss: it does not offer the shell runner; wa: its policy refuses it');
  }, 90_000);
});
