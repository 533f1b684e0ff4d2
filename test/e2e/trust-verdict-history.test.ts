import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { fingerprintOf, makeKeys } from '../helpers/ssh-keys.js';

/**
 * The verdict `show` and `verify` give, on a node that pinned the trust root, where the fix "dispatch it again" is no
 * fix: a task that ended before the root existed (its handoff was never meant to be signed: the verdict is history,
 * with no fix; live on main or archived), and a pending `resume` task, whose session lives on one node (the fixes
 * are to sign it, or to resume again from a node with a key). Real ssh-keygen keys, a real bus, the CLI.
 */

interface Verdict { version?: number; trusted: boolean; reason: string; fix?: string; notForThisNode?: true }
const RESUME = '20261208-100000-resume';

describe('trust verdicts where dispatching again is no fix', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let boss: string;
  let w: string;
  let ended = '';
  let archived = '';
  const person = () => join(bus.dir, 'person');
  const show = async (home: string, id: string) => json<{ state: string; trust?: Verdict }>(await gitbus(['show', id, '--json'], { home }));
  const verify = async (home: string, id: string) => json<{ files: { path: string; verdict: Verdict | null }[] }>(await gitbus(['verify', id, '--json'], { home })).files.find((f) => f.path.startsWith('handoffs/'))?.verdict;
  const ok = async (args: string[], home: string) => {
    const r = await gitbus([...args, '--json'], { home });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'boss' });
    boss = bus.home('boss');
    w = await bus.addNode('w', [], ['--runner', 'shell']);
    // Two tasks that ran and ended before the bus had a trust root.
    for (const name of ['ended', 'archived']) {
      const id = await bus.dispatch('boss', [name, '--command', 'true', '--to', 'w']);
      await ok(['claim', id], w);
      await ok(['respond', id, '--status', 'succeeded', '--summary', 'done'], w);
      if (name === 'ended') ended = id;
      else archived = id;
    }
    makeKeys(join(bus.dir, 'keys'), ['alice']);
    await ok(['trust', 'init', '--admin', `alice=${join(bus.dir, 'keys', 'alice')}.pub`, '--key', join(bus.dir, 'keys', 'alice')], boss);
    await ok(['trust', 'pin', '--trust', fingerprintOf(`${join(bus.dir, 'keys', 'alice')}.pub`)], w);
    gitCli(['clone', '-q', '-b', 'main', bus.remote, person()]);
  }, 90_000);
  afterAll(async () => bus?.cleanup());

  it('a task that ended before the trust root says so as history, with no fix, in show and verify', async () => {
    const shown = await show(boss, ended);
    expect(shown.state).toBe('succeeded');
    expect(shown.trust).toEqual({ version: 1, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it ended \(succeeded\): no node runs it again; its handoff would not be trusted now for node w: unsigned: /) });
    const { version: _v, ...verdict } = shown.trust ?? { version: 0 };
    expect(await verify(boss, ended)).toEqual(verdict);
    const text = (await gitbus(['show', ended], { home: boss })).stdout;
    expect(text).toContain('trust (version 1): not for this node: it ended (succeeded): no node runs it again; its handoff would not be trusted now');
    expect(text).not.toContain('fix: dispatch it again');
  });

  it('so does one archived since', async () => {
    await ok(['archive', '--all'], boss);
    const shown = await show(boss, archived);
    expect(shown.trust).toEqual({ version: 1, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it ended \(succeeded\) and was archived: no node runs it again .*; its handoff would not be trusted now for node w: unsigned: /) });
  });

  it('a pending resume task that is not signed names the fixes that work: sign it, or resume again from a node with a key', async () => {
    pushFiles(person(), { [`handoffs/${RESUME}.md`]: `---\ntitle: "resume ${ended}: go on"\nto: w\nrunner: claude\nclaude:\n  resume: 0f6e7c1e-2b1d-4c55-9d1a-1c2d3e4f5a6b\nresumes: ${ended}\ncreated: ${new Date().toISOString()}\n---\ngo on\n` }, 'a resume written without a signing key');
    for (const home of [boss, w]) {
      const t = (await show(home, RESUME)).trust;
      expect(t?.reason).toContain('unsigned: ');
      expect(t?.fix).toContain(`gitbus sign handoffs/${RESUME}.md`);
      expect(t?.fix).toContain(`gitbus resume ${ended} PROMPT`);
      expect(t?.fix).not.toContain('dispatch a copy without --to');
      expect(t?.fix).not.toContain('dispatch it again');
    }
    // Seen from another node: it is w's to run, where the session lives.
    expect((await show(boss, RESUME)).trust?.fix).toMatch(/^claim it on w, where the session it resumes lives; /);
  });
});
