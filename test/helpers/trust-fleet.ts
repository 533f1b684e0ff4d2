import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json } from './cli.js';
import { makeBus } from './bus.js';
import { pushFiles, removeFiles } from './push-access.js';
import { fingerprintOf, NO_GIT_KEY } from './ssh-keys.js';

/**
 * A bus under trust for the tests of files written in a node's name (trust-node-files, trust-replay,
 * trust-node-lifecycle), with real ssh-keygen keys: admin alice signs the root (unlisted nodes accepted, one rule:
 * alice's shell tasks run anywhere) and boss's handoffs; the nodes named join pinned to alice's root and are listed
 * in it by their keys; `person` is a clone of the remote, as anyone with push access has. Each file asks only for
 * the nodes its tests need: the setup is 2 CLI commands and 2 more per node.
 *
 * The functions can be taken before `setUp` (a file's module scope) and called once it is done (in its tests).
 */
export const FINAL = ['succeeded', 'failed', 'timed-out', 'cancelled'];

export interface Forged { path: string; kind: string; id?: string; node: string | null; reason: string }
export interface Status { tasks: { id: string; state: string; claim: { attempt: number; node: string } | null }[]; forged: Forged[]; nodes: { node: string; card?: { labels?: string[] } }[] }
export type FleetBus = Awaited<ReturnType<typeof makeBus>>;

export const task = (s: Status, id: string) => s.tasks.find((t) => t.id === id);
export const now = () => new Date().toISOString();

export function trustFleet(nodes: string[]) {
  let bus: FleetBus | undefined;
  const ready = (): FleetBus => {
    if (!bus) throw new Error('the trust fleet is not set up yet (call setUp in beforeAll)');
    return bus;
  };
  const boss = () => ready().home('boss');
  const person = () => join(ready().dir, 'person');
  const key = (name: string) => join(ready().dir, 'keys', name);
  const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
  const nodeKey = (home: string) => join(home, 'keys', 'node_ed25519.pub');
  const children: ChildProcess[] = [];

  async function admin(args: string[]): Promise<void> {
    const r = await gitbus([...args, '--key', key('alice'), '--json'], { home: boss() });
    expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  }

  return {
    children,
    key,
    fp,
    nodeKey,
    admin,
    status: async (home = boss()) => json<Status>(await gitbus(['status', '--json'], { home })),
    async dispatch(name: string, command: string, to: string, extra: string[] = []): Promise<string> {
      const r = await gitbus(['dispatch', name, '--command', command, '--to', to, ...extra, '--json', '--no-git'], { home: boss(), env: NO_GIT_KEY });
      expect(r.code, r.stderr).toBe(0);
      return json<{ id: string }>(r).id;
    },
    /** Writes files into main as anyone with push access could, with plain git. */
    push: (files: Record<string, string>, message: string): void => pushFiles(person(), files, message),
    pushRemove: (paths: string[], message: string): void => removeFiles(person(), paths, message),
    onMain: (path: string) => gitCli(['show', `main:${path}`], ready().remote),

    async setUp(): Promise<{ bus: FleetBus; boss: string }> {
      const b = await makeBus({ node: 'boss' });
      bus = b;
      mkdirSync(join(b.dir, 'keys'));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key('alice')]);
      await admin(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept']);
      await admin(['trust', 'add', 'rule', '--signers', 'alice', '--runners', 'shell', '--nodes', '*']);
      const c = parse(readFileSync(join(boss(), 'node.yaml'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(boss(), 'node.yaml'), stringify({ ...c, signingKey: key('alice') }));
      for (const name of nodes) await b.addNode(name, [], ['--runner', 'shell', '--trust', fp('alice')]);
      for (const name of nodes) await admin(['trust', 'add', 'node', name, nodeKey(b.home(name))]);
      gitCli(['clone', '-q', b.remote, person()]);
      return { bus: b, boss: boss() };
    },
    async tearDown(): Promise<void> {
      for (const ch of children) ch.kill('SIGKILL');
      await bus?.cleanup();
    },
  };
}
