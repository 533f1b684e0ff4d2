import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, json, spawnBounded, tempDir, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import type { CodeCacheReport } from '../../cli/code-cache.js';

// Every command here runs as a process: how a command process starts and ends is the subject.
commandsAsProcesses();

/** Root can run the CLI as a uid of no account (setpriv), as a container's `--user 12345` does. */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 && existsSync('/usr/bin/setpriv');
const OTHER_UID = 12345;

describe('CLI start-up in odd places', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let runs = 0;

  beforeAll(async () => {
    dir = await tempDir('gitbus-odd-start-');
    // Another uid must reach the homes and the report files made here.
    chmodSync(dir.path, 0o755);
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  /** Runs bin/gitbus.js with exactly `env` (plus PATH), as `uid` when given; returns its result and the loader's report. */
  async function runAs(uid: number | undefined, args: string[], env: NodeJS.ProcessEnv): Promise<{ r: RunResult; report: CodeCacheReport }> {
    const reportFile = join(dir.path, `report-${runs++}.jsonl`);
    writeFileSync(reportFile, '', { mode: 0o666 });
    chmodSync(reportFile, 0o666);
    const full = { PATH: process.env['PATH'], GITBUS_CODE_CACHE_REPORT: reportFile, ...env };
    const command = uid === undefined ? [process.execPath, BIN, ...args] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, BIN, ...args];
    const r = await spawnBounded(command[0] as string, command.slice(1), { cwd: dir.path, env: full, timeoutMs: 60_000 });
    const lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    return { r, report: JSON.parse(lines[0] as string) as CodeCacheReport };
  }
  /** A home folder of OTHER_UID's. */
  const homeOf = (name: string, mode = 0o700): string => {
    const home = join(dir.path, name);
    mkdirSync(home);
    chownSync(home, OTHER_UID, OTHER_UID);
    chmodSync(home, mode);
    return home;
  };
  const noBus = (): string[] => ['status', '--home', join(dir.path, 'no-bus-here')];

  it.skipIf(!asRoot)('a cache place the user cannot use runs the ES module build, and doctor says why and what to do', async () => {
    // A fresh account: no ~/.cache yet. It is made (private), with the cache.
    const fresh = homeOf('fresh');
    const first = await runAs(OTHER_UID, noBus(), { HOME: fresh });
    expect(first.r.code).toBe(7);
    expect(first.report).toMatchObject({ cache: 'none', written: true });
    expect(statSync(join(fresh, '.cache')).mode & 0o777).toBe(0o700);
    expect(statSync(join(fresh, '.cache')).uid).toBe(OTHER_UID);

    // A read-only home without ~/.cache.
    const readOnly = homeOf('read-only', 0o500);
    expect((await runAs(OTHER_UID, noBus(), { HOME: readOnly })).report).toMatchObject({ cache: 'unavailable', written: false, reason: `${join(readOnly, '.cache')} cannot be made or written (EACCES)` });

    // ~/.cache left by `sudo` (root's, with the user's HOME).
    const sudoed = homeOf('sudoed');
    mkdirSync(join(sudoed, '.cache'), { mode: 0o755 });
    const blocked = await runAs(OTHER_UID, noBus(), { HOME: sudoed });
    const sudoedReason = `${join(sudoed, '.cache', 'gitbus')} does not exist, and ${join(sudoed, '.cache')} belongs to uid 0, not to this user (uid ${OTHER_UID})`;
    expect(blocked.report).toMatchObject({ cache: 'unavailable', written: false, reason: sudoedReason });
    expect(blocked.r.stderr).toContain('no bus at');
    const doctor = await runAs(OTHER_UID, ['doctor', '--json', '--home', join(dir.path, 'no-bus-here')], { HOME: sudoed });
    const check = json<{ checks: { name: string; status: string; detail: string; fix: string }[] }>(doctor.r).checks.find((c) => c.name === 'cli.code-cache');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.detail).toContain(sudoedReason);
    expect(check?.fix).toContain(`chown ${OTHER_UID} ${join(sudoed, '.cache')}`);

    // ~/.cache/gitbus that its group may write to: unsafe, not read, and doctor says chmod 700.
    const shared = homeOf('shared');
    mkdirSync(join(shared, '.cache', 'gitbus'), { recursive: true });
    chownSync(join(shared, '.cache'), OTHER_UID, OTHER_UID);
    chownSync(join(shared, '.cache', 'gitbus'), OTHER_UID, OTHER_UID);
    chmodSync(join(shared, '.cache', 'gitbus'), 0o770);
    expect((await runAs(OTHER_UID, noBus(), { HOME: shared })).report).toMatchObject({ cache: 'unsafe', written: false });
    const sharedDoctor = await runAs(OTHER_UID, ['doctor', '--json', '--home', join(dir.path, 'no-bus-here')], { HOME: shared });
    expect(json<{ checks: { name: string; fix: string }[] }>(sharedDoctor.r).checks.find((c) => c.name === 'cli.code-cache')?.fix).toContain(`chmod 700 ${join(shared, '.cache', 'gitbus')}`);

    // Root with that user's HOME (sudo without -H) makes nothing there: no ~/.cache, no ~/.cache/gitbus of root's.
    const foreign = homeOf('foreign');
    expect((await runAs(undefined, noBus(), { HOME: foreign })).report).toMatchObject({ cache: 'unavailable', written: false });
    expect(readdirSync(foreign)).toEqual([]);
    expect((await runAs(undefined, noBus(), { HOME: fresh })).report).toMatchObject({ cache: 'unsafe', written: false });
    expect(readdirSync(join(fresh, '.cache'))).toEqual(['gitbus']);
    expect(statSync(join(fresh, '.cache', 'gitbus')).uid).toBe(OTHER_UID);
  });

  it.skipIf(!asRoot)('a uid with no home folder and no passwd entry gets an error that says what to do', async () => {
    for (const env of [{}, { GITBUS_CODE_CACHE: '0' }, { XDG_CACHE_HOME: join(homeOf('xdg'), 'cache') }]) {
      const { r, report } = await runAs(OTHER_UID, ['status', '--json'], env);
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).not.toContain('uv_os_homedir');
      expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'NO_USER_HOME', fix: expect.stringContaining('set HOME') });
      // Without a home there is no cache folder either, unless XDG_CACHE_HOME names one.
      expect(report.cache).toBe('XDG_CACHE_HOME' in env ? 'none' : 'GITBUS_CODE_CACHE' in env ? 'off' : 'unavailable');
    }
  });

  it.skipIf(!asRoot)('a uid with no passwd entry joins over SSH as $USER, and without USER gets an error that says what to do', async () => {
    const home = homeOf('ssh-user');
    // Port 1 on loopback: nothing listens, so the join fails at the connection, after the user was worked out.
    const remote = 'ssh://127.0.0.1:1/srv/bus.git';
    const named = await runAs(OTHER_UID, ['join', remote, '--node', 'n1', '--json', '--home', join(home, 'bus')], { HOME: home, USER: 'builder' });
    expect(named.r.code, named.r.stderr).not.toBe(0);
    expect(json<{ error: { code: string } }>(named.r).error.code).not.toBe('NO_USER_NAME');
    expect(named.r.stderr).not.toContain('uv_os_get_passwd');
    const nameless = await runAs(OTHER_UID, ['join', remote, '--node', 'n1', '--json', '--home', join(home, 'bus')], { HOME: home });
    expect(nameless.r.code, nameless.r.stderr).toBe(7);
    expect(nameless.r.stderr).not.toContain('uv_os_get_passwd');
    expect(json<{ error: { code: string; fix: string } }>(nameless.r).error).toMatchObject({ code: 'NO_USER_NAME', fix: expect.stringContaining('set USER') });
  });

  /** Runs bin/gitbus.js with its standard output or error closed before it writes (a reader that stopped: `| head -1`). */
  const closed = (which: 'stdout' | 'stderr', args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir.path, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child[which].destroy();
      let stdout = '';
      let stderr = '';
      if (which === 'stderr') child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      else child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`gitbus ${args.join(' ')} did not end within 60 s: ${stderr}`));
      }, 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  const closedStdout = (args: string[], env: NodeJS.ProcessEnv) => closed('stdout', args, env);

  it('a reader that stops early (| head -1) ends the command quietly, with either build', async () => {
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      for (const args of [['status', '--help'], ['--help'], ['status', '--json']]) {
        const r = await closedStdout(args, { ...env, GITBUS_HOME: bus.home('solo') });
        expect({ args, env, code: r.code, stderr: r.stderr }).toEqual({ args, env, code: 0, stderr: '' });
      }
    }
  });

  it('a command whose error output has no reader still prints its answer and exits with its own code, with either build', async () => {
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      const open = await gitbus(['show', 'no-such-task', '--json'], { home: bus.home('solo'), env });
      expect(open.code).not.toBe(0);
      expect(open.stderr).toContain('gitbus: ');
      const r = await closed('stderr', ['show', 'no-such-task', '--json'], { ...env, GITBUS_HOME: bus.home('solo') });
      expect({ env, code: r.code }).toEqual({ env, code: open.code });
      expect(json<{ error: { code: string } }>(r).error.code).toBe(json<{ error: { code: string } }>(open).error.code);
    }
  });

  it('a command whose output has no reader still says its error on standard error and exits with its own code, with either build', async () => {
    // The reader's going is seen at the first write to standard output, which --json makes before the error line
    // and before the command's exit code is set (cli/output.ts reportError).
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      const open = await gitbus(['show', 'no-such-task', '--json'], { home: bus.home('solo'), env });
      expect(open.code).not.toBe(0);
      const r = await closedStdout(['show', 'no-such-task', '--json'], { ...env, GITBUS_HOME: bus.home('solo') });
      expect({ env, code: r.code, stderr: r.stderr }).toEqual({ env, code: open.code, stderr: open.stderr });
    }
  });

  it('gitbus mcp whose client stopped reading ends quietly, as a command does, with either build', async () => {
    // Its answers go through process.stdout's stream (the MCP SDK's transport), not cli/std-write.ts.
    const initialize = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'test', version: '1' } } })}\n`;
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      const r = await new Promise<RunResult>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'mcp'], { cwd: dir.path, env: { ...process.env, ...env, GITBUS_HOME: bus.home('solo') }, stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdout.destroy();
        let stderr = '';
        let asked = false;
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          // Serving: the client asks, once, and its answer finds no reader.
          if (!asked && stderr.includes('gitbus mcp: serving')) {
            asked = true;
            child.stdin.write(initialize);
          }
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`gitbus mcp did not end within 30 s: ${stderr}`));
        }, 30_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout: '', stderr });
        });
      });
      expect({ env, code: r.code, unhandled: r.stderr.includes('Unhandled'), epipe: r.stderr.includes('EPIPE') }).toEqual({ env, code: 0, unhandled: false, epipe: false });
    }
  });

  it('a command that can no longer finish (nothing left to wait for) exits 13, not 0, with either build', async () => {
    // A preload that makes the making of a new home's folder one that never ends: its callback is never called
    // (init makes it through node:fs's callbacks, bus/node-fs-async.ts), nor its promise settled. (status and the
    // other short commands read their few files at once since session 41: nothing of theirs is left to stall.)
    const hang = join(dir.path, 'hang.cjs');
    writeFileSync(
      hang,
      `const fs = require('node:fs');
const fsp = require('node:fs/promises');
const real = fs.mkdir;
const realP = fsp.mkdir;
fs.mkdir = (p, ...rest) => (String(p).includes('never-made') ? undefined : real(p, ...rest));
fsp.mkdir = (p, ...rest) => (String(p).includes('never-made') ? new Promise(() => {}) : realP(p, ...rest));
require('node:module').syncBuiltinESMExports();
`,
    );
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      const r = await gitbus(['init', '--node', 'stalled', '--json'], { home: join(dir.path, `never-made-${env.GITBUS_CODE_CACHE ?? 'bundle'}`), env: { ...env, NODE_OPTIONS: `--require=${hang}` } });
      expect(r.code, JSON.stringify(env) + r.stderr).toBe(13);
      expect(r.stderr).toContain('the command stopped before it finished');
    }
  });
});
