import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix: string | null;
}
interface Report {
  node: string;
  checks: Check[];
  failed: number;
}

const check = (r: Report, name: string): Check => {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${JSON.stringify(r.checks.map((x) => x.name))}`);
  return c;
};

describe('gitbus doctor', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => {
    await bus.cleanup();
  });

  it('a healthy node: every remote check ok, exit 0; human output has one line per check', async () => {
    const r = await gitbus(['doctor', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    const rep = json<Report>(r);
    expect(rep.node).toBe('alpha');
    expect(rep.failed).toBe(0);
    for (const name of ['home.config', 'home.clone', 'remote.reachable', 'remote.bus', 'remote.protocol', 'remote.push', 'remote.latency', 'clock', 'git']) {
      expect(check(rep, name).status, `${name}: ${check(rep, name).detail}`).toBe('ok');
    }
    expect(check(rep, 'remote.push').detail).toContain('direct access');
    // Nothing visible changed: no scratch ref, no probe file left behind.
    expect(gitCli(['for-each-ref', '--format=%(refname)'], bus.remote).trim()).toBe('refs/heads/main');

    const human = await gitbus(['doctor'], { home: bus.home('alpha') });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^OK\s+remote\.push\s+/m);
    expect(human.stdout).toContain('nothing failed');
  });

  it('says when results or queued changes were set aside for a person, for as long as they are there', async () => {
    const home = bus.home('alpha');
    expect(check(json<Report>(await gitbus(['doctor', '--json'], { home })), 'home.set-aside').status).toBe('ok');
    mkdirSync(join(home, 'outbox', 'rejected'), { recursive: true });
    writeFileSync(join(home, 'outbox', 'rejected', 't1.1.json'), JSON.stringify({ id: 't1', attempt: 1, rejected: 'task t1 is failed; cannot respond' }));
    const c = check(json<Report>(await gitbus(['doctor', '--json'], { home })), 'home.set-aside');
    expect(c).toMatchObject({ status: 'warn', detail: expect.stringContaining(`1 in ${join(home, 'outbox', 'rejected')}`) });
    expect(c.fix).toContain('dispatch the task again');
    renameSync(join(home, 'outbox', 'rejected', 't1.1.json'), join(home, 't1.1.json.read'));
    expect(check(json<Report>(await gitbus(['doctor', '--json'], { home })), 'home.set-aside').status).toBe('ok');
  });

  it('says when a bookkeeping file of the home is a folder (collect would miss tasks), and a dispatch still goes out', async () => {
    const home = bus.home('alpha');
    const ledger = join(home, 'dispatched.jsonl');
    rmSync(ledger, { force: true });
    mkdirSync(ledger);
    try {
      const d = await gitbus(['dispatch', 'noted nowhere', '--to', 'alpha', '--json'], { home });
      expect(d.code, d.stderr).toBe(0);
      const c = check(json<Report>(await gitbus(['doctor', '--json'], { home })), 'home.ledgers');
      expect(c).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${ledger} is a folder`) });
      expect(c.detail).toContain('gitbus collect');
      expect(c.fix).toContain(`move ${ledger} out of the way`);
    } finally {
      rmSync(ledger, { recursive: true, force: true });
    }
    expect(check(json<Report>(await gitbus(['doctor', '--json'], { home })), 'home.ledgers').status).toBe('ok');
  });

  it('names the refs under refs/gitbus/heartbeats/ that name no node, which every reader ignores, with the fix', async () => {
    const b = await makeBus({ node: 'hb' });
    try {
      const main = gitCli(['rev-parse', 'main'], b.remote).trim();
      const odd = ['refs/gitbus/heartbeats/a/b', 'refs/gitbus/heartbeats/\u202Eevil'];
      for (const ref of odd) gitCli(['update-ref', ref, main], b.remote);
      const c = check(json<Report>(await gitbus(['doctor', '--json'], { home: b.home('hb') })), 'heartbeat.others');
      expect(c.status).toBe('warn');
      expect(c.detail).toContain('2 refs under refs/gitbus/heartbeats/ name no node and are ignored: refs/gitbus/heartbeats/a/b, refs/gitbus/heartbeats/<U+202E>evil');
      expect(c.detail).not.toContain('\u202E');
      expect(c.fix).toContain('git push <remote> --delete <ref>');
      for (const ref of odd) gitCli(['update-ref', '-d', ref], b.remote);
      expect(check(json<Report>(await gitbus(['doctor', '--json'], { home: b.home('hb') })), 'heartbeat.others')).toMatchObject({ status: 'ok', detail: 'no other nodes on the bus' });
    } finally {
      await b.cleanup();
    }
  });

  it('a remote that refuses pushes (pre-receive hook): remote.push fails with the hook message, and nothing is left behind', async () => {
    const b = await makeBus({ node: 'ro' });
    try {
      const hook = join(b.remote, 'hooks', 'pre-receive');
      mkdirSync(join(b.remote, 'hooks'), { recursive: true });
      writeFileSync(hook, '#!/bin/sh\necho "this bus is read-only today" >&2\nexit 1\n');
      chmodSync(hook, 0o755);
      const r = await gitbus(['doctor', '--json'], { home: b.home('ro') });
      expect(r.code).toBe(7);
      const push = check(json<Report>(r), 'remote.push');
      expect(['fail', 'warn']).toContain(push.status);
      expect(push.detail).toContain('this bus is read-only today');
      expect(push.detail).toContain('pre-receive');
      expect(push.fix).toBeTruthy();
      expect(gitCli(['for-each-ref', '--format=%(refname)'], b.remote).trim()).toBe('refs/heads/main');
    } finally {
      await b.cleanup();
    }
  });

  it('without direct access, a push that is allowed is proven with a scratch ref that is deleted again', async () => {
    const r = await gitbus(['doctor', '--json'], { home: bus.home('alpha'), env: { GITBUS_DIRECT: '0' } });
    expect(r.code, r.stdout).toBe(0);
    const push = check(json<Report>(r), 'remote.push');
    expect(push.status).toBe('ok');
    expect(push.detail).toContain('refs/gitbus/doctor/alpha');
    expect(gitCli(['for-each-ref', '--format=%(refname)'], bus.remote).trim()).toBe('refs/heads/main');
  });

  it('a node with runners: [tmux] and no tmux on PATH: runner.tmux fails with the install fix, exit 7', async () => {
    const home = await bus.addNode('termy', [], ['--runner', 'tmux']);
    // A PATH holding git alone (git is checked too, and must not be what fails here).
    const bin = join(bus.dir, 'bin-no-tmux');
    mkdirSync(bin, { recursive: true });
    const gitPath = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    if (!existsSync(join(bin, 'git'))) symlinkSync(gitPath, join(bin, 'git'));
    const r = await gitbus(['doctor', '--json'], { home, env: { PATH: bin } });
    expect(r.code, r.stdout).toBe(7);
    const rep = json<Report>(r);
    const tmux = check(rep, 'runner.tmux');
    expect(tmux.status).toBe('fail');
    expect(tmux.detail).toContain('tmux');
    expect(tmux.fix).toMatch(/install tmux/);
    expect(check(rep, 'git').status).toBe('ok');
    expect(check(rep, 'remote.push').status).toBe('ok');

    const human = await gitbus(['doctor'], { home, env: { PATH: bin } });
    expect(human.code).toBe(7);
    expect(human.stdout).toMatch(/^FAIL\s+runner\.tmux\s+.*\n\s+fix: install tmux/m);
  });

  it('a node whose remote was renamed away: remote.reachable fails with the path and a fix, exit 7', async () => {
    const b = await makeBus({ node: 'lost' });
    try {
      renameSync(b.remote, `${b.remote}.moved`);
      const r = await gitbus(['doctor', '--json'], { home: b.home('lost') });
      expect(r.code).toBe(7);
      const rep = json<Report>(r);
      const reach = check(rep, 'remote.reachable');
      expect(reach.status).toBe('fail');
      expect(reach.detail).toContain(b.remote);
      expect(reach.fix).toBeTruthy();
      expect(check(rep, 'remote.push').status).toBe('skip');
      expect(check(rep, 'home.config').status).toBe('ok');

      const human = await gitbus(['doctor'], { home: b.home('lost') });
      expect(human.code).toBe(7);
      expect(human.stdout).toMatch(/^FAIL\s+remote\.reachable\s+.*\n\s+fix: /m);
    } finally {
      await b.cleanup();
    }
  });

  it('no bus at the home: home.config fails, exit 7', async () => {
    const r = await gitbus(['doctor', '--json'], { home: join(bus.dir, 'nothing-here') });
    expect(r.code).toBe(7);
    const c = check(json<Report>(r), 'home.config');
    expect(c.status).toBe('fail');
    expect(c.fix).toContain('gitbus init');
  });
});
