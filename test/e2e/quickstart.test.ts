import { describe, it, expect } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, spawnBounded, tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/** The processes whose command line names `path` (a unique temp folder): what the quick start left running. */
function processesNaming(path: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(path) && !l.includes('ps -eo'));
}

/** The README's main-job command, exactly as a person runs it (with the build already done by `npm test`). */
describe('README quick start', () => {
  it('npm run quickstart: a task dispatched on one node is run by another node\'s watcher, and the response is read back', async () => {
    const dir = await tempDir();
    try {
      const home = join(dir.path, 'home');
      const r = await spawnBounded('npm', ['run', '--silent', 'quickstart'], { cwd: ROOT, env: { ...process.env, GITBUS_HOME: home, GITBUS_SKIP_BUILD: '1' }, timeoutMs: 180_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('$ gitbus init --node laptop');
      expect(r.stdout).toMatch(/created bus at .*remote\.git \(embedded\)/);
      expect(r.stdout).toContain(`joined ${home}/remote.git as node worker`);
      // The worker's watcher, a background process, claims and runs the task dispatched on laptop.
      expect(r.stdout).toMatch(/^watching as worker: runners shell/m);
      expect(r.stdout).toContain('hello from the worker, task hello');
      expect(r.stderr).toContain('hello: succeeded on worker (attempt 1)');
      expect(r.stdout).toContain('task hello: succeeded');
      expect(r.stdout).toMatch(/==> claims\/hello\.1\.md <==[\s\S]*node: worker\nclaimed: [^\n]+\nby: watcher/);
      expect(r.stdout).toMatch(/==> responses\/hello\.md <==[\s\S]*status: succeeded\nnode: worker/);
      // gitbus run: the command's output, from the worker.
      expect(r.stdout).toMatch(/\$ gitbus run worker -- uname -s\n(Linux|Darwin|\w+)\n/);
      expect(r.stdout).toMatch(/worker\s+live/);
      expect(r.stdout).toContain('tasks: 2 succeeded');
      // The watcher's own log, printed once it stopped: it ran both and shut down cleanly.
      expect(r.stdout).toContain('  claimed hello (attempt 1): Say hello from the worker');
      expect(r.stdout).toMatch(/\n {2}stopped\n/);
      expect(processesNaming(dir.path)).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  }, 200_000);

  it('stops its background watcher (and what it waits on) when it is interrupted', async () => {
    const dir = await tempDir();
    try {
      const home = join(dir.path, 'home');
      // A `uname` that hangs, so the script is surely still waiting on `gitbus run` when it is interrupted.
      const bin = join(dir.path, 'bin');
      mkdirSync(bin);
      const pidFile = join(dir.path, 'uname.pid');
      writeFileSync(join(bin, 'uname'), `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 120\n`, { mode: 0o755 });
      const child = spawn('bash', [join(ROOT, 'scripts', 'quickstart.sh')], { cwd: ROOT, env: { ...process.env, GITBUS_HOME: home, GITBUS_SKIP_BUILD: '1', PATH: `${bin}:${process.env['PATH'] ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
      const log = join(`${home}-worker`, 'watcher.log');
      await until('the worker to run the hanging uname', () => existsSync(log) && /claimed \S+ \(attempt 1\): run: uname -s/.test(readFileSync(log, 'utf8')), 120_000, () => out);
      expect(processesNaming(dir.path).some((l) => l.includes(' watch --home '))).toBe(true);
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 60_000)))]);
      clearTimeout(timer);
      expect(code, out).toBe(143);
      // The watcher stopped the run within its grace and exited; nothing the script started is left.
      await until('no process of the quick start to be left', () => processesNaming(dir.path).length === 0, 30_000, () => processesNaming(dir.path).join('\n'));
      expect(readFileSync(log, 'utf8')).toMatch(/stopped$/m);
      const task = Number(readFileSync(pidFile, 'utf8').trim());
      await until('the task the watcher ran to be stopped', () => {
        try {
          process.kill(task, 0);
          return false;
        } catch {
          return true;
        }
      }, 30_000);
    } finally {
      await dir.cleanup();
    }
  }, 200_000);
});
