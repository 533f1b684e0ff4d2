import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServeReport } from '../../cli/code-cache.js';
import { gitbus, json, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { servedWatcher } from '../helpers/served-watcher.js';
import { OWN_PROCESS_SOONER } from '../../cli/serve/client.js';

// Every command here runs as a process: the commands are served by a watcher, or run as processes: what a process does
// is the subject.
commandsAsProcesses();

/**
 * Commands served by the watcher (cli/serve/, docs/ARCHITECTURE.md "Commands served by the watcher"): a short
 * command whose home has a running watcher runs in a standby process the watcher started ahead, and must behave
 * exactly as in its own process: output, exit code, working folder, environment, standard input, signals. This file:
 * when a command is served and when not, and what serves it; test/e2e/cli-served-io.test.ts: a served command's
 * input, output and terminal.
 */
const sw = servedWatcher();
const { run, served } = sw;

/** What two runs of `status --json` must agree on: the node, main's commit and the tasks' states. */
const view = (r: RunResult) => {
  const s = json<{ node: string; head: string; tasks: { id: string; state: string }[] }>(r);
  return { node: s.node, head: s.head, tasks: s.tasks.map((t) => [t.id, t.state]) };
};

describe('commands served by the watcher', () => {
  it('listens on a socket in the home that only this user may use', () => {
    const st = lstatSync(join(sw.alpha, 'cli.sock'));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('doctor says whether the watcher serves this home', async () => {
    const d = await run(['doctor', '--json']);
    const check = json<{ checks: { name: string; status: string; detail: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve');
    expect(check).toMatchObject({ status: 'ok' });
    expect(check?.detail).toContain(join(sw.alpha, 'cli.sock'));
    expect(check?.detail).toContain('to those that cannot start from their code cache: with GITBUS_SERVE=1 here, all of them');
    // As people run it, with the code cache usable, and with it unusable.
    const detail = async (env: NodeJS.ProcessEnv) => json<{ checks: { name: string; detail: string }[] }>((await run(['doctor', '--json'], { env: { GITBUS_SERVE: undefined, ...env } })).r).checks.find((c) => c.name === 'cli.serve')?.detail;
    expect(await detail({})).toContain('here they start from it (cli.code-cache) and run in their own process');
    expect(await detail({ GITBUS_CODE_CACHE: '0' })).toContain('here none can (cli.code-cache), so they are served');
  }, 60_000);

  it('runs a short command in the standby, with the same output and exit code as in its own process', async () => {
    const id = await sw.bus.dispatch('alpha', ['served show', '--to', 'beta']);
    const a = await served(['show', id, '--json']);
    expect(a.report.pid).toBeGreaterThan(0);
    const b = await run(['show', id, '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(b.report).toMatchObject({ served: false, reason: 'GITBUS_SERVE=0' });
    expect(a.r.code).toBe(0);
    expect(a.r.stdout).toBe(b.r.stdout);
    // An error: the same message on stderr and the same exit code (4, UNKNOWN_TASK).
    const c = await served(['show', 'no-such-task']);
    const d = await run(['show', 'no-such-task'], { env: { GITBUS_SERVE: '0' } });
    expect(c.r.code).toBe(4);
    expect(d.r.code).toBe(4);
    expect(c.r.stderr).toBe(d.r.stderr);
    // A usage error, found by commander in the standby: exit 2 and its message.
    const e = await served(['show']);
    expect(e.r.code).toBe(2);
    expect(e.r.stderr).toContain("missing required argument 'id'");
    // Help, which agents ask for while they learn the commands: the same text, exit 0.
    const h = await served(['dispatch', '--help']);
    const g = await run(['dispatch', '--help'], { env: { GITBUS_SERVE: '0' } });
    expect([h.r.code, g.r.code]).toEqual([0, 0]);
    expect(h.r.stdout).toContain('--body-file');
    expect(h.r.stdout).toBe(g.r.stdout);
  }, 120_000);

  it('keeps a second standby ready once commands come back to back, so that a burst is not served every other time', async () => {
    const standbys = () => sw.watcher.events().filter((e) => e.type === 'standbys') as unknown as { ready: number; keep: number }[];
    // Back to back: the second finds the first's standby taken and the next one still loading. That miss makes it a
    // burst (a machine fast enough to have the next ready that soon serves both, and the loop goes on).
    let missed: ServeReport | undefined;
    await until('a back-to-back command to find no standby ready', async () => {
      await served(['status', '--json']);
      const next = await run(['status', '--json']);
      if (!next.report.served) missed = next.report;
      // An earlier test's commands may have made it a burst already: then none misses, and two are kept.
      return missed !== undefined || standbys().at(-1)?.keep === 2;
    }, 120_000, () => `watcher stderr: ${sw.watcher.stderr()}`);
    if (missed) expect(missed).toMatchObject({ served: false, reason: 'no standby process was ready' });
    await until('two standbys ready', () => standbys().at(-1)?.ready === 2, 60_000, () => JSON.stringify(standbys().slice(-5)));
    expect(standbys().at(-1)).toMatchObject({ ready: 2, keep: 2 });
    // Now two in a row are served, by two processes, each the same as its own process's output.
    const a = await run(['status', '--json']);
    const b = await run(['status', '--json']);
    expect([a.report.served, b.report.served], JSON.stringify([a.report, b.report])).toEqual([true, true]);
    expect(a.report.pid).not.toBe(b.report.pid);
    expect([a.r.code, b.r.code]).toEqual([0, 0]);
    expect(view(b.r)).toEqual(view(a.r));
  }, 240_000);

  it('runs a command in its own process where it starts from its code cache, and serves it where it cannot (or with GITBUS_SERVE=1)', async () => {
    // The helper sets GITBUS_SERVE=1 for every other test; as people run gitbus, it is not set.
    const asPeople = { GITBUS_SERVE: undefined };
    await served(['status', '--json']);
    const own = await run(['status', '--json'], { env: asPeople });
    expect(own.report).toMatchObject({ served: false, reason: OWN_PROCESS_SOONER });
    expect(own.r.code).toBe(0);
    // A cache folder that cannot be made (a file where it goes: a sandbox's read-only home does the same), and caches
    // turned off: the own process would run the ES module build, ~2.5x slower to start, so the standby serves it.
    const blocked = join(sw.scratch.path, 'cache-blocked');
    writeFileSync(blocked, '');
    const noCache = await served(['status', '--json'], { env: { ...asPeople, XDG_CACHE_HOME: join(blocked, 'cache') } });
    expect(noCache.r.code).toBe(0);
    expect(view(noCache.r)).toEqual(view(own.r));
    const off = await served(['status', '--json'], { env: { ...asPeople, GITBUS_CODE_CACHE: '0' } });
    expect(view(off.r)).toEqual(view(own.r));
    // A cache folder of its own, made by a first run; then opened to others (a file there could be code anyone put
    // there): the boot does not use it for the loader, nor the command for itself, so the command is served.
    const fresh = join(sw.scratch.path, 'cache-opened');
    const cacheReport = join(sw.scratch.path, 'cache-opened.jsonl');
    const first = await run(['status', '--json'], { env: { GITBUS_SERVE: '0', XDG_CACHE_HOME: fresh, GITBUS_CODE_CACHE_REPORT: cacheReport } });
    expect(first.r.code).toBe(0);
    expect((await run(['status', '--json'], { env: { ...asPeople, XDG_CACHE_HOME: fresh } })).report).toMatchObject({ served: false, reason: OWN_PROCESS_SOONER });
    const keyFolder = dirname((JSON.parse(readFileSync(cacheReport, 'utf8').trim().split('\n')[0] ?? '{}') as { file: string }).file);
    chmodSync(keyFolder, 0o777);
    const opened = await served(['status', '--json'], { env: { ...asPeople, XDG_CACHE_HOME: fresh } });
    expect(view(opened.r)).toEqual(view(own.r));
  }, 180_000);

  it('is not used for a command that is not served, with Node options, or when GITBUS_SERVE=0', async () => {
    expect((await run(['lint', '--json'])).report).toMatchObject({ served: false, reason: 'not a served command' });
    expect((await run(['status', '--json'], { env: { NODE_OPTIONS: '--no-warnings' } })).report).toMatchObject({ served: false, reason: 'Node options are set' });
    expect((await run(['status', '--json'], { env: { GITBUS_SERVE: '0' } })).report).toMatchObject({ served: false });
    // Standard input named as a file is read from the process's own descriptor 0, which the standby's is not.
    expect((await run(['respond', 'x', '--status', 'succeeded', '--body-file', '-'])).report).toMatchObject({ served: false, reason: 'standard input named as a file' });
    // What Node reads at start (its locale, its CA bundle): a standby started with other values declines.
    await served(['status', '--json']);
    let declined: ServeReport | undefined;
    await until('a standby to decline another locale', async () => {
      declined = (await run(['status', '--json'], { env: { LANG: 'xx_XX.UTF-8' } })).report;
      return declined.reason !== 'no standby process was ready';
    }, 60_000);
    expect(declined?.served).toBe(false);
    expect(declined?.reason).toContain('the environment differs in what Node reads at start');
  }, 60_000);

  it('is not trusted in a home others may write to', async () => {
    chmodSync(sw.alpha, 0o777);
    try {
      const r = await run(['status', '--json']);
      expect(r.report.served).toBe(false);
      expect(r.report.reason).toContain('may be written by others');
      expect(r.r.code).toBe(0);
    } finally {
      chmodSync(sw.alpha, 0o755);
    }
    // A folder above it that others may write to (they could put another home in its place); a sticky one, as /tmp,
    // they may not rename in.
    const parent = dirname(sw.alpha);
    const mode = statSync(parent).mode & 0o7777;
    try {
      chmodSync(parent, 0o777);
      const open = await run(['status', '--json']);
      expect([open.report.served, open.report.reason]).toEqual([false, `${parent} may be written by others`]);
      chmodSync(parent, 0o1777);
      const sticky = await served(['status', '--json']);
      expect(sticky.r.code).toBe(0);
    } finally {
      chmodSync(parent, mode);
    }
    // The same home reached through a link in a folder others may write to: they could point the link elsewhere.
    const open = join(sw.scratch.path, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(parent, join(open, 'link'));
    const file = join(sw.scratch.path, 'linked-report.jsonl');
    const linked = await gitbus(['status', '--json'], { home: join(open, 'link', basename(sw.alpha)), env: { GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' } });
    expect(linked.code, linked.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ served: false, reason: `${open} may be written by others` });
    // And through a second link, from a folder of this user's: the folder that holds the link in between counts too.
    const safe = join(sw.scratch.path, 'safe');
    mkdirSync(safe, { mode: 0o755 });
    symlinkSync(join(open, 'link'), join(safe, 'hop'));
    const chained = await gitbus(['status', '--json'], { home: join(safe, 'hop', basename(sw.alpha)), env: { GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' } });
    expect(chained.code, chained.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ served: false, reason: `${open} may be written by others` });
  }, 60_000);

  it('stops serving when the watcher stops: the socket is removed and commands run in their own process', async () => {
    // Its socket goes with it.
    sw.watcher.child.kill('SIGTERM');
    await sw.watcher.exited;
    expect(existsSync(join(sw.alpha, 'cli.sock'))).toBe(false);
    const r = await run(['status', '--json']);
    expect(r.report).toMatchObject({ served: false, reason: 'nothing serves this home (no watcher or gitbus serve runs)' });
    expect(r.r.code).toBe(0);
    const d = await run(['doctor', '--json']);
    expect(json<{ checks: { name: string; status: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve')).toMatchObject({ status: 'skip' });
  }, 60_000);

  it('a socket left by a killed watcher costs a command nothing: it runs in its own process', async () => {
    const w = startWatcher(sw.alpha, ['--poll', '30s'], sw.children);
    await until('the watcher serving', () => w.events().some((e) => e.type === 'serving'), 60_000, () => w.stderr());
    w.child.kill('SIGKILL');
    await w.exited;
    expect(lstatSync(join(sw.alpha, 'cli.sock')).isSocket()).toBe(true);
    const r = await run(['status', '--json']);
    expect(r.report.served).toBe(false);
    expect(r.report.reason).toContain('ECONNREFUSED');
    expect(r.r.code).toBe(0);
    const d = await run(['doctor', '--json']);
    const check = json<{ checks: { name: string; status: string; detail: string; fix?: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.detail).toContain('does not answer (ECONNREFUSED)');
    expect(check?.fix).toContain('run gitbus serve, or start the watcher');
    // The next watcher replaces it; one that runs the ES module build (GITBUS_CODE_CACHE=0) serves as well.
    const again = startWatcher(sw.alpha, ['--poll', '30s'], sw.children, { GITBUS_CODE_CACHE: '0' });
    await until('the next watcher serving', () => again.events().some((e) => e.type === 'serving'), 60_000, () => again.stderr());
    sw.watcher = again;
    const s = await served(['status', '--json']);
    expect(s.r.code, s.r.stderr).toBe(0);
    again.child.kill('SIGTERM');
    await again.exited;
  }, 120_000);
});
