import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json, spawnBounded, tempDir } from '../helpers/cli.js';
import { makeBus, seedPool } from '../helpers/bus.js';
import { archivedTask, dispatchTask, dispatchTasks, pointAt } from '../helpers/in-process.js';
import { editNode, makeProject, pushHandoffs, showFile } from '../helpers/project.js';
import { sshBus as sshBus_, sshFixtureBus } from '../helpers/ssh-bus.js';
import { sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/wait.js';

/**
 * Buses whose shared repository is on a real OpenSSH sshd on loopback. Every node reaches it over SSH (ssh2
 * inside the gitbus process): through the `busbox` alias of an ssh config, or an ssh:// URL.
 */
const available = sshdAvailable();
if (!available) console.warn('skipping the SSH remote tests: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

let sshd: Sshd;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (available) sshd = await startSshd();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sshd?.cleanup();
});

const sshBus = (remoteOf?: (path: string) => string) => sshBus_(sshd, (c) => cleanups.push(c), remoteOf);
/**
 * A bus for a test that is not about making it: made in the test's process, the nodes it adds reaching it over SSH
 * (test/helpers/ssh-bus.ts). What each test is about still runs through the CLI over SSH.
 */
const fixtureBus = () => sshFixtureBus((c) => cleanups.push(c));

function run(args: string[], home: string, env: NodeJS.ProcessEnv = sshd.env) {
  return gitbus(args, { home, env });
}

// Each test has its own bus (and the ones that stall or restart a server, their own sshd), but they run one after
// another: side by side (2411a12) the doctor's clock check, which times a round trip, came back skipped under load
// (8700edf), and the suite is CPU-bound, so running them at once would not shorten it.
describe.skipIf(!available)('an SSH remote', () => {
  it('a project task fetches its project over SSH and pushes its branch back over SSH (the git CLI with the ssh config)', async () => {
    const bus = await makeBus();
    cleanups.push(bus.cleanup);
    const project = makeProject(bus.dir);
    const worker = await bus.addNode('sshworker', [], ['--runner', 'shell']);
    // The second names the project as the worker's node.yaml does: git does not read that, so its response gives the URL.
    editNode(worker, (c) => ({ ...c, projects: { sshproj: { url: `busbox:${project.remote}` } } }));
    pushHandoffs(join(bus.dir, 'person'), bus.remote, [
      { id: 'over-ssh', frontmatter: { to: 'sshworker', repo: `busbox:${project.remote}`, base: 'main', command: 'echo via ssh > ssh.txt' } },
      { id: 'over-ssh-named', frontmatter: { to: 'sshworker', repo: 'sshproj', base: 'main', command: 'echo named > named.txt' } },
    ]);
    const env = { ...process.env, GIT_SSH_COMMAND: `ssh -F ${sshd.configFile} -o BatchMode=yes` };
    const w = await gitbus(['watch', '--once', '--json'], { home: worker, env, timeoutMs: 60_000 });
    expect(w.code, w.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(w).ran).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'over-ssh', status: 'succeeded' }), expect.objectContaining({ id: 'over-ssh-named', status: 'succeeded' })]));
    expect(showFile(project.remote, 'gitbus/over-ssh', 'ssh.txt')).toBe('via ssh\n');
    const shown = json<{ branch: { pushed: boolean; fetch: string } }>(await gitbus(['show', 'over-ssh', '--json'], { home: worker }));
    expect(shown.branch).toMatchObject({ pushed: true, fetch: `git fetch busbox:${project.remote} refs/heads/gitbus/over-ssh` });
    const named = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', 'over-ssh-named', '--json'], { home: worker })).files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(named).toContain(`The commands use busbox:${project.remote}, the URL of sshproj on the node that ran the task.`);
    expect(named).toContain(`git fetch busbox:${project.remote} refs/heads/gitbus/over-ssh-named\n`);
    // show fetches from where the response's commands do, not from the name git does not read.
    const namedShown = json<{ branch: { repo: string; fetch: string } }>(await gitbus(['show', 'over-ssh-named', '--json'], { home: worker }));
    expect(namedShown.branch).toEqual(expect.objectContaining({ repo: 'sshproj', fetch: `git fetch busbox:${project.remote} refs/heads/gitbus/over-ssh-named` }));
  });

  it('inits, joins, dispatches, claims and responds through an ssh config alias and an ssh:// URL', async () => {
    const bus = await sshBus();
    const beta = await run(['join', sshd.url(bus.bare), '--node', 'beta', '--json'], bus.home('beta'));
    expect(beta.code, beta.stderr).toBe(0);
    expect(readFileSync(join(bus.home('beta'), 'node.yaml'), 'utf8')).toContain(sshd.url(bus.bare));

    const d = await run(['dispatch', 'echo over ssh', '--to', 'beta', '--json', '--no-git'], bus.home('alpha'));
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const c = await run(['claim', '--next', '--json'], bus.home('beta'));
    expect(c.code, c.stderr).toBe(0);
    expect(json<{ id: string }>(c).id).toBe(id);
    const r = await run(['respond', id, '--status', 'succeeded', '--summary', 'done over ssh', '--json'], bus.home('beta'));
    expect(r.code, r.stderr).toBe(0);

    // The alias node sees the result; plain git agrees with what the bus holds.
    const s = await run(['show', id, '--json'], bus.home('alpha'));
    expect(json<{ state: string }>(s).state).toBe('succeeded');
    expect(gitCli(['--git-dir', bus.bare, 'ls-tree', '-r', '--name-only', 'main'])).toContain(`responses/${id}.md`);
  });

  it('reads one archived task by its path over SSH: no month folder, no tip fetched', async () => {
    // The archived task is the fixture (made over the local path); gamma's join and read over SSH are the subject.
    const bus = await fixtureBus();
    const id = await archivedTask(bus.home('alpha'), 'to archive');
    // A repository made with plain git: allow path reads as `gitbus init` does for one it creates.
    gitCli(['--git-dir', bus.bare, 'config', 'uploadpack.allowFilter', 'true']);
    gitCli(['--git-dir', bus.bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
    const gamma = bus.home('gamma');
    expect((await run(['join', bus.remote, '--node', 'gamma', '--json'], gamma)).code).toBe(0);
    const shown = await run(['show', id, '--json'], gamma);
    expect(shown.code, shown.stderr).toBe(0);
    expect(json<{ state: string; archived: string }>(shown).state).toBe('succeeded');
    const month = json<{ archived: string }>(shown).archived;
    const clone = join(gamma, 'clone.git');
    const held = gitCli(['--git-dir', clone, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']);
    expect(held).toContain(gitCli(['--git-dir', bus.bare, 'rev-parse', `archive:${month}/${id}`]).trim());
    expect(held).not.toContain(gitCli(['--git-dir', bus.bare, 'rev-parse', `archive:${month}`]).trim());
    expect(existsSync(join(clone, 'gitbus-archive-tip.git'))).toBe(false);
    // In one git-upload-archive exchange: the task's folder, none of the trees above it.
    expect(held).not.toContain(gitCli(['--git-dir', bus.bare, 'rev-parse', 'archive:ids']).trim());
    expect(readFileSync(join(clone, 'gitbus-archive-found'), 'utf8')).toContain(id);
  });

  it('reads an archived task by its path from a host that does not run git-upload-archive, and remembers that', async () => {
    // As GitHub answers it: the command refused, the others run.
    const own = await startSshd({ extraConfig: ['ForceCommand case "$SSH_ORIGINAL_COMMAND" in git-upload-archive*) echo "Invalid command: $SSH_ORIGINAL_COMMAND" >&2; exit 128;; *) eval "$SSH_ORIGINAL_COMMAND";; esac'] });
    cleanups.push(() => own.cleanup());
    const bus = await fixtureBus();
    const id = await archivedTask(bus.home('alpha'), 'to archive');
    gitCli(['--git-dir', bus.bare, 'config', 'uploadpack.allowFilter', 'true']);
    gitCli(['--git-dir', bus.bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
    const gamma = bus.home('gamma');
    expect((await run(['join', bus.remote, '--node', 'gamma', '--json'], gamma, own.env)).code).toBe(0);
    const shown = await run(['show', id, '--json'], gamma, own.env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(json<{ state: string }>(shown).state).toBe('succeeded');
    const clone = join(gamma, 'clone.git');
    expect(readFileSync(join(clone, 'gitbus-archive-upload-archive'), 'utf8')).toMatch(/Invalid command/);
    const held = gitCli(['--git-dir', clone, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']);
    // By its path from the shard down: main's archive-shards says where the shard is, so neither the archive's root
    // nor `ids` is read (docs/PROTOCOL.md §7).
    const hh = createHash('sha1').update(id).digest('hex').slice(0, 2);
    expect(held).toContain(gitCli(['--git-dir', bus.bare, 'rev-parse', `archive:ids/${hh}`]).trim());
    expect(held).not.toContain(gitCli(['--git-dir', bus.bare, 'rev-parse', 'archive:ids']).trim());
    expect(existsSync(join(clone, 'gitbus-archive-tip.git'))).toBe(false);
    // doctor says so, and that path reads remain.
    const archiveReads = json<{ checks: { name: string; status: string; detail: string }[] }>(await run(['doctor', '--json'], gamma, own.env)).checks.find((c) => c.name === 'remote.archive-reads');
    expect(archiveReads).toMatchObject({ status: 'ok', detail: expect.stringContaining('does not run git upload-archive') });
    expect(archiveReads?.detail).toContain('by path');
  });

  it('init creates a missing repository on the host with git init, like it does for a local path', async () => {
    const dir = await tempDir('gitbus-sshinit-');
    cleanups.push(dir.cleanup);
    const path = join(dir.path, 'srv', 'fresh.git');
    const r = await gitbus(['init', '--remote', `busbox:${path}`, '--node', 'first', '--json'], { home: join(dir.path, 'home'), env: sshd.env });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ remoteCreated: boolean }>(r).remoteCreated).toBe(true);
    expect(gitCli(['--git-dir', path, 'rev-parse', '--is-bare-repository']).trim()).toBe('true');
    expect(gitCli(['--git-dir', path, 'symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/main');
    expect(gitCli(['--git-dir', path, 'ls-tree', '--name-only', 'main'])).toContain('gitbus.yaml');
    // Nodes read one archived task by its path from it (docs/PROTOCOL.md §7).
    expect(gitCli(['--git-dir', path, 'config', 'uploadpack.allowFilter']).trim()).toBe('true');
    expect(gitCli(['--git-dir', path, 'config', 'uploadpack.allowAnySHA1InWant']).trim()).toBe('true');
    expect(gitCli(['--git-dir', path, 'config', 'pack.writeReverseIndex']).trim()).toBe('true');
    // An existing bus is not made again; a second init says so.
    const again = await gitbus(['init', '--remote', `busbox:${path}`, '--node', 'second', '--json'], { home: join(dir.path, 'home2'), env: sshd.env });
    expect(again.code).toBe(5);
  });

  it('lets exactly one of three processes win each claim race over SSH', { timeout: 180_000 }, async () => {
    const bus = await fixtureBus();
    for (const n of ['n1', 'n2', 'n3']) await bus.node(n);
    const ids = await seedPool(bus.bare, join(bus.dir, 'seed'), 12);
    const claimer = (n: string) =>
      spawnBounded(process.execPath, ['-e', claimLoop], { env: { ...sshd.env, GITBUS_HOME: bus.home(n), CLI: BIN }, timeoutMs: 120_000 });
    const results = await Promise.all(['n1', 'n2', 'n3'].map(claimer));
    const won = results.flatMap((r) => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean);
    });
    expect(won.sort()).toEqual([...ids].sort());
    expect(new Set(won).size).toBe(ids.length);
  });

  it('notices a connection that went silent (keepalive), reconnects, and goes on working', { timeout: 120_000 }, async () => {
    // Its own server, so that stalling its connections touches no other test.
    const own = await startSshd();
    cleanups.push(() => own.cleanup());
    const cfg = join(own.home, '.ssh', 'config');
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}  ServerAliveInterval 1\n  ServerAliveCountMax 2\n`);
    // The bus and the task are the fixture (alpha on the local path); the watcher over SSH is the subject.
    const bus = await fixtureBus();
    const w = await bus.node('w', { runners: ['shell'] });
    const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s', '--retry', '500ms', '--retry-max', '1s'], { env: { ...own.env, GITBUS_HOME: w }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const events = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; id?: string });
    await until('the watcher to start', () => events().some((e) => e.type === 'started'), 30_000);
    await until('its connection', () => own.sessions().length > 0, 10_000);

    // The peer stops answering without closing anything (a sleeping laptop, a dropped NAT entry).
    const stalled = own.sessions();
    for (const pid of stalled) process.kill(pid, 'SIGSTOP');
    cleanups.push(async () => {
      for (const pid of stalled) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    // Keepalive declares the connection dead within seconds and the watcher opens a new one. Depending on what was
    // in flight, that shows as a short outage (remote-down, remote-up) or not at all (a channel that could not be
    // opened is retried once on a fresh connection).
    await until('a new connection from the watcher', () => own.sessions().some((pid) => !stalled.includes(pid)), 30_000, () => out);
    const id = await dispatchTask(bus.home('alpha'), { title: 'after the stall', command: 'echo alive' });
    await until('the task done on the new connection', () => events().some((e) => e.type === 'finished' && e.id === id), 30_000, () => out);
    expect(events().filter((e) => e.type === 'error')).toEqual([]);
    child.kill('SIGTERM');
  });

  it('runs tasks on three watchers over SSH, and keeps going after the server restarts', { timeout: 240_000 }, async () => {
    // Its own server, so that restarting it touches no other test.
    const sshd = await startSshd();
    cleanups.push(() => sshd.cleanup());
    // The bus and its tasks are the fixture (made in the test's process, alpha on the local path); the three
    // watchers over SSH are the subject. They poll every second: each look is an SSH channel, a shell and a git
    // upload-pack on the host, and at 300 ms three watchers made ten a second for the whole test.
    const bus = await fixtureBus();
    const watchers: { child: ReturnType<typeof spawn>; out: () => string }[] = [];
    for (const n of ['w1', 'w2', 'w3']) {
      await bus.node(n, { runners: ['shell'] });
      const child = spawn(process.execPath, [BIN, 'watch', '--poll', '1s', '--json'], { env: { ...sshd.env, GITBUS_HOME: bus.home(n) }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      watchers.push({ child, out: () => out });
    }
    cleanups.push(async () => {
      for (const w of watchers) w.child.kill('SIGKILL');
    });
    const dispatchSome = (from: number, to: number) => dispatchTasks(bus.home('alpha'), Array.from({ length: to - from }, (_, k) => ({ title: `task ${from + k}`, command: `echo task-${from + k}` })));
    // What the watchers reported finished, and whether the remote has those responses (one plain-git read of the
    // bare repository, not a status process every 200 ms): a watcher reports a run finished once it has tried to
    // deliver its response, which a dropped connection may hold back until the next try.
    const finished = () =>
      watchers.flatMap((w) =>
        w
          .out()
          .split('\n')
          .slice(0, -1) // the last is a line still being written, or empty
          .filter((l) => l.startsWith('{'))
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as { type: string; id?: string }];
            } catch {
              return []; // not one whole event: stderr shares `out`
            }
          })
          .filter((e) => e.type === 'finished')
          .map((e) => e.id),
      );
    const explain = () => watchers.map((w) => w.out()).join('\n---\n');
    const done = (ids: string[]) => {
      if (!ids.every((id) => finished().includes(id))) return false;
      const responses = gitCli(['--git-dir', bus.bare, 'ls-tree', '--name-only', 'main', 'responses/']);
      return ids.every((id) => responses.includes(`responses/${id}.md`));
    };
    const first = await dispatchSome(0, 6);
    await until('six tasks done by the watchers', () => done(first), 90_000, explain);

    // The server goes away and comes back: the watchers' connections drop and are opened again.
    await sshd.stop();
    await sshd.start();
    const second = await dispatchSome(6, 8);
    await until('tasks dispatched after the restart done', () => done(second), 90_000, explain);
    // Every task ran exactly once, on one of the watchers, and the bus says each succeeded.
    expect(finished().sort()).toEqual([...first, ...second].sort());
    const tasks = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') })).tasks;
    for (const id of [...first, ...second]) expect(tasks.find((t) => t.id === id)?.state, id).toBe('succeeded');
    for (const w of watchers) expect(w.out()).not.toMatch(/"type":"error".*BUG/);
  });
});

describe.skipIf(!available)('gitbus doctor over SSH', () => {
  it('says where the alias led, which host key and key were used, compares clocks and proves push access', async () => {
    const bus = await fixtureBus();
    await pointAt(bus.home('alpha'), bus.remote);
    const r = await run(['doctor', '--json'], bus.home('alpha'));
    const report = json<{ checks: { name: string; status: string; detail: string }[] }>(r);
    const check = (name: string) => report.checks.find((c) => c.name === name) ?? { name, status: 'missing', detail: '' };
    expect(check('remote.reachable').status).toBe('ok');
    expect(check('ssh.config').detail).toContain(`busbox -> ${process.env['USER'] ?? 'root'}@127.0.0.1:${sshd.port}`);
    expect(check('ssh.config').detail).toContain(sshd.clientKey);
    expect(check('ssh.hostkey').status).toBe('ok');
    expect(check('ssh.hostkey').detail).toMatch(/^ssh-ed25519 SHA256:\S+ \(known_hosts .*known_hosts:1\)$/);
    expect(check('ssh.auth').detail).toContain(`key ${sshd.clientKey}`);
    expect(check('clock').status, JSON.stringify([check('clock'), check('ssh.shell')])).toBe('ok');
    expect(check('clock').detail).toContain('in step');
    expect(check('remote.push')).toMatchObject({ status: 'ok' });
    expect(check('remote.archive-reads')).toMatchObject({ status: 'ok', detail: expect.stringContaining('runs git upload-archive: the first lookup of an archived task is one exchange') });
    expect(gitCli(['--git-dir', bus.bare, 'for-each-ref', 'refs/gitbus/doctor'])).toBe('');
    expect(check('ssh.shell').detail).toMatch(/\d+ ms/);

    // A host whose shell start-up is slow (every command waits 150 ms before it runs, as behind a ~/.bashrc that
    // runs `pyenv init`): a warning with the fix. (Not $BASH_ENV: bash run by sshd reads ~/.bashrc instead, so it
    // slowed commands only through the bash processes this machine's own ~/.bashrc starts.)
    const slowStart = join(bus.dir, 'slow-start.sh');
    writeFileSync(slowStart, '#!/bin/sh\nsleep 0.15\nexec sh -c "$SSH_ORIGINAL_COMMAND"\n', { mode: 0o755 });
    const slow = await startSshd({ extraConfig: [`ForceCommand ${slowStart}`] });
    cleanups.push(() => slow.cleanup());
    const viaSlow = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home: bus.home('alpha'), env: slow.env }));
    const shell = viaSlow.checks.find((c) => c.name === 'ssh.shell');
    expect(shell?.status, JSON.stringify(viaSlow.checks)).toBe('warn');
    expect(shell?.fix).toContain('~/.bashrc');

    // An unknown host key makes the remote check fail with the way to trust it; the rest is skipped, not hidden.
    const bad = await tempDir('gitbus-sshdoc-');
    cleanups.push(bad.cleanup);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(bad.path, '.ssh'));
    writeFileSync(join(bad.path, '.ssh', 'config'), `Host busbox\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  IdentityFile ${sshd.clientKey}\n`);
    const failing = await gitbus(['doctor', '--json'], { home: bus.home('alpha'), env: { ...sshd.env, HOME: bad.path } });
    expect(failing.code).toBe(7);
    const reach = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(failing).checks.find((c) => c.name === 'remote.reachable');
    expect(reach?.status).toBe('fail');
    expect(reach?.fix).toContain('ssh-keyscan');
  });
});

/** Claims until nothing is left; prints each id won. Runs as its own process per node. */
const claimLoop = `
const { execFileSync } = require('node:child_process');
for (;;) {
  let out;
  try { out = execFileSync(process.execPath, [process.env.CLI, 'claim', '--next', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); }
  catch (e) { if (e.status === 3) break; process.stderr.write(String(e.stderr)); process.exit(1); }
  process.stdout.write(JSON.parse(out).id + '\\n');
}
`;
