import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { grant } from '../helpers/claude.js';
import { showInProcess } from '../helpers/in-process.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * A claude run's first output beats early (watcher/progress-beats.ts) when claude says something, not at the
 * session line every run starts with: that line alone would cost a push per run and show other nodes only
 * `claude: session …`. Regular beats are 10 minutes apart (a third of the lease is longer still), so within these
 * tests only early beats carry a run. A post-receive hook on the bare remote logs every ref update with the files
 * of the commit it points at (it also makes pushes go through git's receive-pack).
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');
const children: ChildProcess[] = [];
let bus: Awaited<ReturnType<typeof makeBus>>;
let worker: string;
let pushlog: string;
let standinEnv: NodeJS.ProcessEnv;

type Shown = { state: string };
type Logs = { source: string; text: string };

beforeAll(async () => {
  bus = await makeBus({ node: 'boss', initArgs: ['--lease', '1h', '--heartbeat', '10m'] });
  worker = await bus.addNode('worker', [], ['--runner', 'claude']);
  grant(worker, { binary: STANDIN, permissionMode: 'acceptEdits', allowedTools: ['Bash'] });
  pushlog = join(bus.dir, 'pushlog');
  const hook = join(bus.remote, 'hooks', 'post-receive');
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do echo "$ref $new $(git ls-tree -r --name-only "$new" 2>/dev/null | tr '\\n' ' ')" >> '${pushlog}'; done\n`);
  chmodSync(hook, 0o755);
  standinEnv = { CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'standin-sessions') };
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

/** The worker's heartbeats the remote took, each with the files it held. */
const beats = (): string[][] =>
  existsSync(pushlog)
    ? readFileSync(pushlog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('refs/gitbus/heartbeats/worker '))
        .map((l) => l.split(' ').slice(2).filter(Boolean))
    : [];

async function dispatch(args: string[], body: string): Promise<string> {
  const d = await gitbus(['dispatch', ...args, '--runner', 'claude', '--to', 'worker', '--body-file', '-', '--json', '--no-git'], { home: bus.home('boss'), input: body });
  expect(d.code, d.stderr).toBe(0);
  return json<{ id: string }>(d).id;
}

describe("a claude run's first output", () => {
  it('is not its session line: a run that said nothing more asks for no early beat', async () => {
    // The stand-in's hang mode prints the init line and nothing after it; the run ends at its timeout, well after
    // an early beat asked at its first output would have gone out (1 s).
    const id = await dispatch(['Says nothing', '--timeout', '6s'], 'Think forever.\n');
    const r = await gitbus(['watch', '--once', '--json', '--progress-beat', '1s'], { home: worker, env: { ...standinEnv, CLAUDE_STANDIN_MODE: 'hang' }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(r).ran).toEqual([expect.objectContaining({ id, status: 'timed-out' })]);
    const log = readFileSync(join(worker, 'logs', `${id}.1.log`), 'utf8');
    expect(log).toContain('"subtype":"init"');
    expect(log).not.toContain('"type":"assistant"');
    // The beat before the claim went out (the node's last was old), but none carried the run.
    expect(beats().length).toBeGreaterThan(0);
    expect(beats().filter((files) => files.includes(`logs/${id}.1.log`))).toEqual([]);
  }, 90_000);

  it("is claude's first tool call, which reaches another node's logs with an early beat", async () => {
    const gate = join(bus.dir, 'gate');
    const id = await dispatch(['Waits in a tool'], `Wait for the gate.\n@bash until [ -e '${gate}' ]; do sleep 0.1; done\n`);
    const watcher = startWatcher(worker, ['--poll', '1s', '--progress-beat', '1s'], children, standinEnv);
    let seen: Logs = { source: 'none', text: '' };
    try {
      await until(
        "the run's first tool call in another node's logs",
        async () => {
          seen = json<Logs>(await gitbus(['logs', id, '--json'], { home: bus.home('boss') }));
          return seen.source === 'heartbeat' && seen.text.includes('→ Bash: until');
        },
        45_000,
        () => `last logs: ${JSON.stringify(seen)}\nwatcher: ${JSON.stringify(watcher.events())}\n${watcher.stderr()}`,
      );
    } finally {
      writeFileSync(gate, '');
    }
    await until('the task to succeed', async () => (await showInProcess<Shown>(bus.home('boss'), id)).state === 'succeeded', 60_000, () => watcher.stderr());
    watcher.child.kill('SIGTERM');
  }, 120_000);
});
