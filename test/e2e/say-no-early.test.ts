import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BIN, gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { archivedTask, cancelInProcess, statusInProcess } from '../helpers/in-process.js';

/**
 * Refusals that come before anything is written: bad flag values (exit 2, naming the flag), tasks addressed to a
 * node that could never claim them, and join --force taking over a node name only when that node is gone.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  await bus.addNode('plain', ['gpu']);
  await bus.addNode('worker', [], ['--runner', 'shell']);
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
  rmSync(dirname(BIG_BODY), { recursive: true, force: true });
});

const home = () => bus.home('alpha');
// What is on the bus, read as `status --json` reads it, in this process: the refusals are the subject, not status.
const tasks = async () => (await statusInProcess<{ tasks: { id: string }[] }>(home())).tasks;

const BIG_BODY = join(mkdtempSync(join(tmpdir(), 'gitbus-bigbody-')), 'big.md');
writeFileSync(BIG_BODY, 'x'.repeat(300 * 1024));

/** [flag named in the error, the command line]. Each value breaks the flag's rule. */
const BAD: [string, string[]][] = [
  ['--id', ['dispatch', 'x', '--id', 'BadId']],
  ['--id', ['dispatch', 'x', '--id', '-leading-dash']],
  ['--after', ['dispatch', 'x', '--after', 'No Such Id']],
  ['--to', ['dispatch', 'x', '--to', 'Big_Node']],
  ['--label', ['dispatch', 'x', '--label', 'has space']],
  ['--runner', ['dispatch', 'x', '--runner', 'bash']],
  ['--priority', ['dispatch', 'x', '--priority', 'high']],
  ['--priority', ['dispatch', 'x', '--priority', '1001']],
  ['--priority', ['dispatch', 'x', '--priority', '1.5']],
  ['--timeout', ['dispatch', 'x', '--timeout', '10 minutes']],
  ['--timeout', ['dispatch', 'x', '--timeout', '0s']],
  ['--schedule', ['dispatch', 'x', '--schedule', 'every day']],
  // A schedule's template never ends: waiting for it would never end either.
  ['--wait', ['dispatch', 'x', '--schedule', '0 3 * * *', '--command', 'true', '--wait']],
  // February has no 30th: never due, the template would sit for ever.
  ['--schedule', ['dispatch', 'x', '--schedule', '0 0 30 2 *', '--command', 'true']],
  ['--wait-timeout', ['dispatch', 'x', '--wait', '--wait-timeout', 'soon']],
  ['--wait-timeout', ['dispatch', 'x', '--wait-timeout', '5m']],
  ['--wait-timeout', ['dispatch', '--from', '-', '--wait-timeout', '5m']],
  ['--wait-timeout', ['run', 'worker', '--wait-timeout', '0s', '--', 'true']],
  ['--workdir', ['dispatch', 'x', '--workdir', '../outside']],
  ['--command', ['dispatch', 'x', '--command', 'x'.repeat(17 * 1024)]],
  ['TITLE', ['dispatch', 'two\nlines']],
  // Rules across flags, and a body over the file size limit: checked on the handoff, reported against the flag.
  ['--command', ['dispatch', 'x', '--runner', 'shell']],
  ['--after', ['dispatch', 'x', '--id', 'selfish', '--after', 'selfish']],
  ['--body-file', ['dispatch', 'x', '--body-file', BIG_BODY]],
  // Read to what one bus file holds and no further: /dev/zero read whole ran the process out of memory.
  ['--body-file', ['dispatch', 'x', '--body-file', '/dev/zero']],
  ['--body-file', ['respond', 'abc', '--status', 'succeeded', '--body-file', '/dev/zero']],
  ['NODE', ['run', 'Bad_Node', '--', 'true']],
  ['--label', ['run', 'worker', '--label', 'UPPER', '--', 'true']],
  ['--timeout', ['run', 'worker', '--timeout', 'soon', '--', 'true']],
  ['--runner', ['claim', '--next', '--runner', 'bogus']],
  ['--status', ['respond', 'abc', '--status', 'done']],
  ['--reason', ['respond', 'abc', '--status', 'failed', '--reason', 'bell\u0007']],
  ['--reason', ['cancel', 'abc', '--reason', 'bell\u0007']],
  ['--reason', ['release', 'abc', '--reason', 'bell\u0007']],
  ['--exit-code', ['respond', 'abc', '--status', 'failed', '--exit-code', 'one']],
  ['--poll', ['watch', '--once', '--poll', '0s']],
  ['--poll', ['watch', '--once', '--poll', '1ms']],
  ['--poll', ['ui', '--poll', '10ms']],
  ['--poll', ['ui', '--poll', '2m']],
  // IPv4 written short: listened on (0 is every interface) but spelt otherwise by a browser, so every page was refused.
  ['--host', ['ui', '--host', '0']],
  // Empty (a script's unset variable): it was refused as the rule's field, "rules.2.signers: expected a list", no flag named.
  ['--signers', ['trust', 'add', 'rule', '--signers', '', '--runners', 'shell', '--nodes', 'w']],
  ['--host', ['ui', '--host', '2130706433']],
  ['--host', ['ui', '--host', '0x7f.1']],
  ['--grace', ['watch', '--once', '--grace', '30']],
  ['--retry', ['watch', '--once', '--retry', 'later']],
  ['--retry-max', ['watch', '--once', '--retry-max', '-5m']],
  ['--keep-logs', ['watch', '--once', '--keep-logs', 'forever']],
  ['--older-than', ['archive', '--older-than', 'a week']],
  ['--node', ['join', '/nowhere.git', '--node', 'Not A Name']],
  ['--label', ['join', '/nowhere.git', '--label', 'Bad!']],
  ['--runner', ['join', '/nowhere.git', '--runner', 'docker']],
  ['--parallel', ['join', '/nowhere.git', '--parallel', '0']],
  ['--parallel', ['init', '--parallel', 'many']],
  ['--lease', ['init', '--lease', '5 min']],
  ['--heartbeat', ['init', '--heartbeat', '0s']],
  // Settings lint would warn about: claims that expire between heartbeats, dead nodes never expired.
  ['--heartbeat', ['init', '--lease', '20s', '--heartbeat', '30s']],
  ['--heartbeat', ['init', '--heartbeat', '4m', '--poll', '10m']],
  ['--poll', ['init', '--poll', 'often']],
  ['--max-attempts', ['init', '--max-attempts', '0']],
  ['--name', ['init', '--name', 'two\nlines']],
  ['--node', ['service', 'status', '--node', 'UPPER']],
  ['--home', ['status', '--home', BIG_BODY]],
  ['--home', ['init', '--home', BIG_BODY]],
  // An empty --home is a script's unset variable: never the user's own bus home.
  ['--home', ['init', '--home', '']],
  ['--home', ['status', '--home', '']],
];

describe('bad flag values', () => {
  it('every bad flag value exits 2 (usage), names the flag and the accepted form, and writes nothing', { timeout: 300_000 }, async () => {
    const before = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    // A fresh home for init/join: a refusal must come before anything is made.
    const fresh = mkdtempSync(join(bus.dir, 'fresh-'));
    for (const [flag, args] of BAD) {
      const useFresh = args[0] === 'init' || args[0] === 'join';
      const r: RunResult = await gitbus([...args, '--json'], { home: useFresh ? join(fresh, 'h') : home() });
      const what = `gitbus ${args.join(' ').slice(0, 80)}`;
      expect(r.code, `${what}\n${r.stderr}`).toBe(2);
      expect(r.stderr, what).toContain(flag);
      expect(r.stderr, what).toContain('fix:');
      expect(r.stderr, what).not.toContain('internal error');
      expect(r.stderr, what).not.toMatch(/handoffs\//);
      const err = json<{ error: { code: string; data: { flag?: string } } }>(r).error;
      expect(err.code, what).toBe('BAD_INPUT');
      expect(err.data.flag, what).toBe(flag);
    }
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()).toBe(before);
  });

  it('an unknown option or a missing value is a usage error too, and --json gets it as a document', async () => {
    // Each names the flag (`data.flag`) and, in the fix, the --help of the command that refused it.
    // --json before a trailing --to: after it, it would be the value --to is missing.
    const cases: [string[], string, string][] = [
      [['dispatch', 'x', '--bogus', '--json'], '--bogus', 'gitbus dispatch'],
      [['respond', 'abc', '--json'], '--status', 'gitbus respond'],
      [['dispatch', 'x', '--json', '--to'], '--to', 'gitbus dispatch'],
      [['trust', 'add', 'signer', 'a', 'b', '--bogus', '--json'], '--bogus', 'gitbus trust add signer'],
      [['trust', 'init', '--json'], '--admin', 'gitbus trust init'],
    ];
    for (const [args, flag, command] of cases) {
      const r = await gitbus(args, { home: home() });
      expect(r.code, args.join(' ')).toBe(2);
      const err = json<{ error: { code: string; fix: string; data: { flag?: string } } }>(r).error;
      expect(err.code).toBe('BAD_INPUT');
      expect(err.data.flag, args.join(' ')).toBe(flag);
      expect(err.fix, args.join(' ')).toBe(`see the accepted options and values with "${command} --help"`);
    }
    // What commander refuses: the error and one line pointing at the command's help, not the whole help after it.
    for (const args of [['dispatch', 'x', '--bogus'], ['respond', 'abc']]) {
      const r = await gitbus(args, { home: home() });
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringMatching(/^error: /), `(run "gitbus ${args[0]} --help" for its options)`]);
    }
    const unknown = await gitbus(['statsu'], { home: home() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Did you mean status?');
    expect(unknown.stderr).toContain('(run "gitbus --help" for the commands)');
    expect(unknown.stderr).not.toContain('Commands:');
  });

  it('takes --home and --json before the command as after it (gitbus --home DIR status)', async () => {
    const before = await gitbus(['--home', home(), '--json', 'status']);
    expect(before.code, before.stderr).toBe(0);
    const after = await gitbus(['status', '--json', '--home', home()]);
    expect(json<{ nodes: unknown[] }>(before).nodes).toEqual(json<{ nodes: unknown[] }>(after).nodes);
  });
});

describe('a bus home that is a link to a folder not there (a disk not mounted)', () => {
  it('is LOCAL_IO naming the link and its target, for init and join as for a reading command, and nothing is made', async () => {
    const dir = mkdtempSync(join(bus.dir, 'link-'));
    const link = join(dir, 'home');
    symlinkSync(join(dir, 'unmounted'), link);
    for (const args of [['init', '--node', 'n'], ['join', bus.remote, '--node', 'n2'], ['status']]) {
      const r = await gitbus([...args, '--home', link, '--json']);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(10);
      const err = json<{ error: { code: string; message: string } }>(r).error;
      expect(err.code).toBe('LOCAL_IO');
      expect(err.message).toContain(`a symbolic link to ${join(dir, 'unmounted')}`);
    }
    expect(readdirSync(dir)).toEqual(['home']);
  });
});

describe('--body-file - (standard input)', () => {
  it('reads to what one bus file holds and no further: past it, exit 2 naming the flag, nothing written', async () => {
    const before = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    const r = await gitbus(['dispatch', 'x', '--body-file', '-', '--no-git', '--json'], { home: home(), input: 'y'.repeat(600 * 1024) });
    expect(r.code, r.stderr).toBe(2);
    const err = json<{ error: { code: string; message: string; data: { flag?: string } } }>(r).error;
    expect(err).toMatchObject({ code: 'BAD_INPUT', data: { flag: '--body-file' } });
    expect(err.message).toContain('standard input is more than 256 KiB');
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()).toBe(before);
  });
});

describe('dispatch and run to a node that could never claim the task', () => {
  it('dispatch --to an unknown node is refused (exit 4, UNKNOWN_NODE) with a fix; --force dispatches it', async () => {
    const r = await gitbus(['dispatch', 'for nobody', '--to', 'ghost', '--no-git', '--json'], { home: home() });
    expect(r.code, r.stderr).toBe(4);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'UNKNOWN_NODE', fix: expect.stringContaining('--force') });
    expect(r.stderr).toContain('no node named "ghost"');
    expect(await tasks()).toEqual([]);

    const forced = await gitbus(['dispatch', 'for nobody', '--to', 'ghost', '--no-git', '--force', '--json'], { home: home() });
    expect(forced.code, forced.stderr).toBe(0);
    expect((await tasks()).map((t) => t.id)).toContain(json<{ id: string }>(forced).id);
    expect(json<{ warnings: string[] }>(forced).warnings.join('\n')).toContain('ghost');
    await cancelInProcess(home(), json<{ id: string }>(forced).id);
  });

  it('dispatch --to a node without the runner or the labels is refused (exit 5, NODE_CANNOT_RUN); manual tasks and able nodes pass', async () => {
    const shell = await gitbus(['dispatch', 'build', '--to', 'plain', '--command', 'make', '--no-git', '--json'], { home: home() });
    expect(shell.code, shell.stderr).toBe(5);
    expect(json<{ error: { code: string } }>(shell).error.code).toBe('NODE_CANNOT_RUN');
    expect(shell.stderr).toContain('does not offer the shell runner');
    const labels = await gitbus(['dispatch', 'build', '--to', 'worker', '--label', 'gpu', '--command', 'make', '--no-git'], { home: home() });
    expect(labels.code, labels.stderr).toBe(5);
    expect(labels.stderr).toContain('lacks the label(s) gpu');

    // A manual task needs no runner; a node offering shell takes a command.
    const manual = await gitbus(['dispatch', 'look at it', '--to', 'plain', '--label', 'gpu', '--no-git', '--json'], { home: home() });
    expect(manual.code, manual.stderr).toBe(0);
    const able = await gitbus(['dispatch', 'build', '--to', 'worker', '--command', 'make', '--no-git', '--json'], { home: home() });
    expect(able.code, able.stderr).toBe(0);
    // Not left for the watcher of the last test to run.
    for (const r of [manual, able]) await cancelInProcess(home(), json<{ id: string }>(r).id);
  });

  it('dispatch --wait --wait-timeout stops waiting when the time is up (exit 11) and leaves the task on the bus', async () => {
    const r = await gitbus(['dispatch', 'nobody runs me', '--to', 'plain', '--no-git', '--wait', '--wait-timeout', '2s', '--json'], { home: home() });
    expect(r.code, r.stderr).toBe(11);
    const out = json<{ id: string; state: string; ended: boolean }>(r);
    expect(out).toMatchObject({ state: 'pending', ended: false });
    expect(r.stderr).toContain(`stopped waiting after 2s: ${out.id} is pending, and goes on`);
    expect((await tasks()).map((t) => t.id)).toContain(out.id);
    await cancelInProcess(home(), out.id);
  });

  it('run to an unknown node or one without the shell runner is refused before dispatching', async () => {
    const before = (await tasks()).length;
    const ghost = await gitbus(['run', 'ghost', '--', 'true'], { home: home() });
    expect(ghost.code, ghost.stderr).toBe(4);
    expect(ghost.stderr).toContain('no node named "ghost"');
    const plain = await gitbus(['run', 'plain', '--', 'true'], { home: home() });
    expect(plain.code, plain.stderr).toBe(5);
    expect(plain.stderr).toContain('does not offer the shell runner');
    expect((await tasks()).length).toBe(before);
  });
});

/** A heartbeat commit for `node` made with plain git, dated `at`, as its watcher would have left it. */
function plantHeartbeat(node: string, at: Date): void {
  const date = `${Math.floor(at.getTime() / 1000)} +0000`;
  const env = { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date, GIT_AUTHOR_NAME: node, GIT_AUTHOR_EMAIL: `${node}@gitbus.invalid`, GIT_COMMITTER_NAME: node, GIT_COMMITTER_EMAIL: `${node}@gitbus.invalid` };
  const tree = gitCli(['--git-dir', bus.remote, 'hash-object', '-w', '--stdin'], undefined, 'node: old\n').trim();
  const treeOid = gitCli(['--git-dir', bus.remote, 'mktree'], undefined, `100644 blob ${tree}\theartbeat.yaml\n`).trim();
  // Not gitCli: that sets its own identity; the dates must be the ones given here.
  const commit = execFileSync('git', ['--git-dir', bus.remote, 'commit-tree', treeOid, '-m', `gitbus: heartbeat ${node}`], { env, encoding: 'utf8' }).trim();
  gitCli(['--git-dir', bus.remote, 'update-ref', `refs/gitbus/heartbeats/${node}`, commit]);
}

describe('cancel an archived task', () => {
  it('by its full id is answered as a live ended task (exit 5, its state), as show finds it; an unknown id stays UNKNOWN_TASK', async () => {
    const id = await archivedTask(home(), 'done and archived');
    const before = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    const r = await gitbus(['cancel', id, '--json'], { home: home() });
    expect(r.code, r.stderr).toBe(5);
    const err = json<{ error: { code: string; message: string; fix: string; data: { state: string } } }>(r).error;
    expect(err).toMatchObject({ code: 'TASK_STATE', data: { state: 'succeeded' } });
    expect(err.fix).toContain('it has already ended');
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()).toBe(before);
    const unknown = await gitbus(['cancel', `${id}x`, '--json'], { home: home() });
    expect(unknown.code).toBe(4);
    expect(json<{ error: { code: string } }>(unknown).error.code).toBe('UNKNOWN_TASK');
  });

  it('claim, release, respond and attach by its full id are refused the same way, writing nothing', async () => {
    const id = await archivedTask(home(), 'archived, then asked for again');
    const before = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    for (const args of [['claim', id], ['release', id], ['respond', id, '--status', 'succeeded'], ['attach', id]]) {
      const r = await gitbus([...args, '--json'], { home: home() });
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(5);
      const err = json<{ error: { code: string; data: { state: string; archived: boolean } } }>(r).error;
      expect(err, args.join(' ')).toMatchObject({ code: 'TASK_STATE', data: { state: 'succeeded (archived)', archived: true } });
    }
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()).toBe(before);
  }, 120_000);
});

describe('join --force: a rebuilt machine takes its old node name back', () => {
  it('without --force the name is refused as taken, and the fix offers --force', async () => {
    const r = await gitbus(['join', bus.remote, '--node', 'plain', '--json'], { home: bus.home('plain-again') });
    expect(r.code).toBe(5);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'NODE_NAME_TAKEN', fix: expect.stringContaining('--force') });
  });

  it('takes over a node that never beat, and one whose last heartbeat is older than the lease', async () => {
    const r = await gitbus(['join', bus.remote, '--node', 'plain', '--force', '--runner', 'shell', '--json'], { home: bus.home('plain-rebuilt') });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ replaced: boolean }>(r).replaced).toBe(true);
    // The card is the new machine's: it now offers shell.
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:nodes/plain.md'])).toContain('shell');

    await bus.addNode('old');
    plantHeartbeat('old', new Date(Date.now() - 10 * 60_000)); // the lease is the default 5m
    const old = await gitbus(['join', bus.remote, '--node', 'old', '--force', '--json'], { home: bus.home('old-rebuilt') });
    expect(old.code, old.stderr).toBe(0);
    expect(json<{ replaced: boolean }>(old).replaced).toBe(true);
  });

  it('refuses while the node is live: a heartbeat within the lease (planted, or from a running watcher), or dated ahead', { timeout: 120_000 }, async () => {
    await bus.addNode('fresh');
    plantHeartbeat('fresh', new Date());
    const fresh = await gitbus(['join', bus.remote, '--node', 'fresh', '--force', '--json'], { home: bus.home('fresh-2') });
    expect(fresh.code, fresh.stderr).toBe(5);
    expect(json<{ error: { code: string; message: string } }>(fresh).error).toMatchObject({ code: 'NODE_LIVE', message: expect.stringContaining('live') });

    await bus.addNode('ahead');
    plantHeartbeat('ahead', new Date(Date.now() + 60 * 60_000));
    const ahead = await gitbus(['join', bus.remote, '--node', 'ahead', '--force'], { home: bus.home('ahead-2') });
    expect(ahead.code, ahead.stderr).toBe(5);
    expect(ahead.stderr).toContain('dated in the future');
    // Waiting never ages a beat from the future: the fix names the clock and the ref, not the lease.
    expect(ahead.stderr).not.toContain('wait until');
    expect(ahead.stderr).toContain(`git push ${bus.remote} :refs/gitbus/heartbeats/ahead`);
    expect(ahead.stderr).toMatch(/ahead of this machine's clock by (59|60)m/);

    // A real watcher on node worker, beating.
    const watcher = spawn(process.execPath, [BIN, 'watch'], { env: { ...process.env, GITBUS_HOME: bus.home('worker') }, stdio: 'ignore' });
    children.push(watcher);
    await until('the watcher of worker to publish a heartbeat', () => gitCli(['--git-dir', bus.remote, 'for-each-ref', 'refs/gitbus/heartbeats/worker']).trim() !== '', 60_000);
    const live = await gitbus(['join', bus.remote, '--node', 'worker', '--force'], { home: bus.home('worker-2') });
    expect(live.code, live.stderr).toBe(5);
    expect(live.stderr).toContain('node "worker" is live');
    expect(live.stderr).toContain('stop the watcher');
    watcher.kill('SIGTERM');
  });
});
