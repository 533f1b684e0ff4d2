import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { showInProcess } from '../helpers/in-process.js';

type Shown = { state: string; files: { path: string; text: string }[] };
type Logs = { source: string; text: string; state: string; truncated?: boolean; shownBytes?: number; totalBytes?: number; fullLogPath?: string | null };

// Any control character but tab and newline: what must never reach a response, a heartbeat or a terminal.
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

// Everything a careless or hostile command prints: NUL, invalid UTF-8, colours, an OSC title, a fence line, a
// frontmatter fence with YAML after it, conflict markers, a progress bar redrawn with CR, one huge line (before the rest: a tail keeps whole lines only).
const NASTY =
  "head -c 20000 /dev/zero | tr '\\000' x; echo; printf 'nul:a\\000b\\n'; printf 'utf8:\\377\\376 end\\n'; printf '\\033[1;31mred\\033[0m \\033]0;title\\007plain\\n'; " +
  "echo '```'; echo '---'; echo 'status: failed'; echo '---'; printf '<<<<<<< HEAD\\n=======\\n>>>>>>> other\\n'; " +
  "printf 'progress 10%%\\rprogress 50%%\\rprogress 100%%\\n'; echo last-line";

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

async function bus(runner: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const b = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '1s'] });
  cleanups.push(b.cleanup);
  const worker = await b.addNode('worker', [], ['--runner', runner]);
  const show = async (id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home: b.home('boss') }));
  const once = async () => {
    const r = await gitbus(['watch', '--once', '--json'], { home: worker, env: extraEnv });
    expect(r.code, r.stderr).toBe(0);
  };
  return { b, worker, show, once };
}

function expectReadable(text: string): void {
  expect(CONTROL_RE.exec(text)?.[0]).toBeUndefined();
}

describe('task output with any bytes', () => {
  it('a shell task printing NUL, invalid UTF-8, escapes, fences and conflict markers succeeds; lint is clean; show and logs are readable', async () => {
    const { b, show, once } = await bus('shell');
    const id = await b.dispatch('boss', ['nasty output', '--command', NASTY]);
    await once();

    const shown = await show(id);
    expect(shown.state).toBe('succeeded');
    const response = shown.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(response).toContain('status: succeeded');
    expectReadable(response);
    expect(response).toContain('nul:ab');
    expect(response).toContain('utf8:\ufffd\ufffd end');
    expect(response).toContain('red plain');
    expect(response).toContain('progress 100%');
    expect(response.slice(response.indexOf('## Output'))).not.toContain('progress 50%');
    expect(response).toContain(' <<<<<<< HEAD');
    expect(response).toContain('last-line');

    const lint = await gitbus(['lint', '--json'], { home: b.home('boss') });
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);

    const human = await gitbus(['show', id], { home: b.home('boss') });
    expect(human.code).toBe(0);
    expectReadable(human.stdout);

    for (const home of [b.home('boss'), b.home('worker')]) {
      const logs = await gitbus(['logs', id], { home });
      expect(logs.code, logs.stderr).toBe(0);
      expectReadable(logs.stdout);
      // From the response: the fence line is output, not the end of the block.
      expect(logs.stdout).toContain('```\n---\nstatus: failed\n---');
      expect(logs.stdout).toContain('last-line');
    }
    // The raw bytes stay on the node that ran the task.
    const raw = readFileSync(join(b.home('worker'), 'logs', `${id}.1.log`));
    expect(raw.includes(Buffer.from('a\u0000b'))).toBe(true);
  });

  it('a task whose last line is longer than the tail responds with the end of that line, not nothing', async () => {
    const { b, show, once } = await bus('shell');
    const id = await b.dispatch('boss', ['one long last line', '--command', "echo first; head -c 9000 /dev/zero | tr '\\000' x; echo"]);
    await once();
    const response = (await show(id)).files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(response).toContain('status: succeeded');
    expect(response).toMatch(/## Output\n\n```\nx{8000,}\n```\n$/);
    const logs = await gitbus(['logs', id], { home: b.home('boss') });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/x{8000,}/);
  });

  it('an output that holds an output heading of its own is shown whole (logs, run and --wait read the response alike)', async () => {
    const { b, once } = await bus('shell');
    const id = await b.dispatch('boss', ['fake heading', '--command', "echo REAL; printf '## Output\\n\\n```\\nall good\\n```\\n'; printf '## Output\\n\\nno fence\\n'"]);
    await once();
    const logs = await gitbus(['logs', id], { home: b.home('boss') });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('REAL\n## Output\n\n```\nall good\n```\n## Output\n\nno fence');
  });

  it('a running task\'s heartbeat tail, read by logs on another node, is readable text', async () => {
    const { b, worker } = await bus('shell');
    const gate = join(b.dir, 'gate');
    const id = await b.dispatch('boss', ['still running', '--command', `${NASTY}; while [ ! -e '${gate}' ]; do sleep 0.1; done`]);
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, GITBUS_HOME: worker }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(watcher);
    let events = '';
    watcher.stdout?.on('data', (d: Buffer) => (events += d.toString()));
    let seen: Logs = { source: 'none', text: '', state: '' };
    await until(
      'the heartbeat to carry the running task\'s output',
      async () => {
        seen = json<Logs>(await gitbus(['logs', id, '--json'], { home: b.home('boss') }));
        return seen.source === 'heartbeat' && seen.text.includes('last-line');
      },
      90_000,
      () => `last logs: ${JSON.stringify(seen)}\nwatcher: ${events}`,
    );
    expectReadable(seen.text);
    expect(seen.text).toContain('progress 100%');

    writeFileSync(gate, '');
    await until('the task to succeed', async () => (await showInProcess<Shown>(b.home('boss'), id)).state === 'succeeded', 90_000, () => events);
    watcher.kill('SIGTERM');
    const lint = await gitbus(['lint', '--json'], { home: b.home('boss') });
    expect(lint.code, lint.stdout).toBe(0);
  });
});

describe('a running task seen from another node', () => {
  it("its first output reaches another node's logs with an early beat, not at the holder's next regular beat", async () => {
    // Regular beats 10 minutes apart (a third of the lease is longer still): only the early beat that the run's
    // first output asks for can carry it within the deadline below.
    const b = await makeBus({ node: 'boss', initArgs: ['--lease', '1h', '--heartbeat', '10m'] });
    cleanups.push(b.cleanup);
    const worker = await b.addNode('worker', [], ['--runner', 'shell']);
    const gate = join(b.dir, 'gate');
    // 10,000 bytes first: the 4 KiB the heartbeat carries is then only the end, which logs must say.
    const id = await b.dispatch('boss', ['prints then waits', '--command', `head -c 10000 /dev/zero | tr '\\000' x; echo; echo first-words; while [ ! -e '${gate}' ]; do sleep 0.1; done`]);
    const watcher = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s', '--progress-beat', '2s'], { env: { ...process.env, GITBUS_HOME: worker }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(watcher);
    let events = '';
    watcher.stdout?.on('data', (d: Buffer) => (events += d.toString()));
    let seen: Logs = { source: 'none', text: '', state: '' };
    try {
      await until(
        "the run's first output in another node's logs",
        async () => {
          seen = json<Logs>(await gitbus(['logs', id, '--json'], { home: b.home('boss') }));
          return seen.source === 'heartbeat' && seen.text.includes('first-words');
        },
        45_000,
        () => `last logs: ${JSON.stringify(seen)}\nwatcher: ${events}`,
      );
      // The holder said the tail is only the end of its log: how much of how much, and where all of it is.
      expect(seen).toMatchObject({ truncated: true, totalBytes: 10_013, fullLogPath: join(worker, 'logs', `${id}.1.log`) });
      expect(seen.shownBytes).toBeLessThanOrEqual(4096);
      const human = await gitbus(['logs', id], { home: b.home('boss') });
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain('first-words');
      expect(human.stderr).toContain(`only the end of ${id}'s output is shown: the last`);
      expect(human.stderr).toContain(`of 10013 bytes. All of it is in ${join(worker, 'logs', `${id}.1.log`)} on worker`);
    } finally {
      writeFileSync(gate, '');
    }
    await until('the task to succeed', async () => (await showInProcess<Shown>(b.home('boss'), id)).state === 'succeeded', 90_000, () => events);
    watcher.kill('SIGTERM');
  });
});

describe('bus text a person wrote', () => {
  it('show prints a handoff whose body holds escape sequences with each one shown, none obeyed', async () => {
    const b = await makeBus({ node: 'boss' });
    cleanups.push(b.cleanup);
    const work = join(b.dir, 'person');
    gitCli(['clone', '-q', b.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'handoffs', 'hostile-body.md'), '---\ntitle: a hostile body\n---\n## Task\n\n\u001b]0;pwned\u0007\u001b[2Jclear the screen\u001b[31m red\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'hostile body'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const human = await gitbus(['show', 'hostile-body'], { home: b.home('boss') });
    expect(human.code, human.stderr).toBe(0);
    expectReadable(human.stdout);
    // A person deciding on a task sees everything its file holds, as cat -v shows it: nothing retitles the window,
    // clears the screen or hides part of a line (a carriage return would, if obeyed).
    expect(human.stdout).toContain('^[]0;pwned^G^[[2Jclear the screen^[[31m red');
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env['CI'] === 'true') throw new Error('tmux is missing, and CI must run the tmux runner tests: install tmux');
if (!hasTmux) console.warn('tmux output test skipped: tmux is not installed');
const SOCKET = join(tmpdir(), `gitbus-test-tmux-bytes-${process.pid}.sock`);
afterAll(() => {
  if (hasTmux) spawnSync('tmux', ['-S', SOCKET, 'kill-server'], { timeout: 10_000 });
  rmSync(SOCKET, { force: true });
});

describe.skipIf(!hasTmux)('tmux output with colours', () => {
  it('a tmux task that prints colours and a progress bar responds with plain text, and lint is clean', async () => {
    const { b, show, once } = await bus('tmux', { GITBUS_TMUX_SOCKET: SOCKET });
    const id = await b.dispatch('boss', ['colours', '--runner', 'tmux', '--command', "printf '\\033[32mgreen\\033[0m and \\033[1mbold\\033[0m\\n'; printf 'bar 1\\rbar 2\\rbar done\\n'; tput bold 2>/dev/null; echo tail-line"]);
    await once();
    const shown = await show(id);
    expect(shown.state).toBe('succeeded');
    const response = shown.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expectReadable(response);
    expect(response).toContain('green and bold');
    expect(response).toContain('bar done');
    expect(response).toContain('tail-line');
    const lint = await gitbus(['lint', '--json'], { home: b.home('boss') });
    expect(lint.code, lint.stdout).toBe(0);
    const logs = await gitbus(['logs', id], { home: b.home('worker') });
    expectReadable(logs.stdout);
    expect(logs.stdout).toContain('green and bold');
  });
});
