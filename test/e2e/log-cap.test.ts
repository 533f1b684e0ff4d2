import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { editNode } from '../helpers/project.js';
import { showInProcess } from '../helpers/in-process.js';

/**
 * The cap on what a task's log on its node keeps (node.yaml `maxLogSize`, watcher/runners/log-cap.ts), with real
 * tasks that print far past a small cap: the log stays within it, says in a line of its own how many bytes were
 * dropped, still ends with the task's last lines (and so does the response's output), and the task is not stopped.
 */
const CAP = 64 * 1024;
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('log-cap tmux test skipped: tmux is not installed');
// Its own tmux server, never a person's.
const SOCKET = join(tmpdir(), `gitbus-test-logcap-${process.pid}.sock`);

// About 2 MB of numbered lines, 30 times the cap, then two last lines.
const LINES = 300_000;
const COMMAND = `seq 1 ${LINES}; echo last-but-one; echo the-very-last-line`;
const PRINTED = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join('') + 'last-but-one\nthe-very-last-line\n';

const DROPPED_RE = /^gitbus: (\d+) bytes of output were dropped here, past the cap on this task's log \(64KiB, maxLogSize in node\.yaml\); its last (\d+) bytes follow\r?$/m;
const REACHED = "gitbus: the output reached the cap on this task's log (64KiB, maxLogSize in node.yaml): what follows is dropped";

type Shown = { state: string; files: { path: string; text: string }[] };

let bus: Awaited<ReturnType<typeof makeBus>>;
let worker: string;

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  worker = await bus.addNode('worker', [], ['--runner', 'shell']);
  editNode(worker, (c) => ({ ...c, runners: ['shell', 'claude', ...(hasTmux ? ['tmux'] : [])], claude: { binary: STANDIN }, maxLogSize: '64KiB' }));
  // Its card, with the runners above, for dispatch --to.
  await runOnce();
});
afterAll(async () => {
  if (hasTmux) spawnSync('tmux', ['-S', SOCKET, 'kill-server'], { timeout: 10_000 });
  rmSync(SOCKET, { force: true });
  await bus?.cleanup();
});

async function runOnce(): Promise<{ id: string; status: string }[]> {
  const r = await gitbus(['watch', '--once', '--json'], { home: worker, env: { GITBUS_TMUX_SOCKET: SOCKET }, timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return json<{ ran: { id: string; status: string }[] }>(r).ran;
}

async function responseOf(id: string): Promise<{ status: string; text: string }> {
  const shown = await showInProcess<Shown>(bus.home('boss'), id);
  const text = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '';
  return { status: (parse(front) as { status: string }).status, text };
}

const outputOf = (response: string) => response.slice(response.lastIndexOf('## Output'));

describe('the cap on a task log', () => {
  it('a shell task printing 30 times the cap succeeds; its log keeps the start and the end within the cap, and says how many bytes it dropped', async () => {
    const id = await bus.dispatch('boss', ['prints a lot', '--to', 'worker', '--command', COMMAND]);
    expect(await runOnce()).toEqual([{ id, status: 'succeeded' }].map((t) => expect.objectContaining(t)));

    const path = join(worker, 'logs', `${id}.1.log`);
    expect(statSync(path).size).toBeLessThanOrEqual(CAP);
    const log = readFileSync(path, 'utf8');
    expect(log.startsWith('1\n2\n3\n')).toBe(true);
    expect(log.endsWith('last-but-one\nthe-very-last-line\n')).toBe(true);

    // Each note on a line of its own; the count is exactly what the log lacks of what the task printed.
    const reachedAt = log.indexOf(REACHED);
    expect(reachedAt).toBeGreaterThan(CAP / 2);
    expect(log[reachedAt - 1]).toBe('\n');
    const dropped = DROPPED_RE.exec(log);
    expect(dropped, log.slice(reachedAt, reachedAt + 600)).not.toBeNull();
    const [noteLine, droppedBytes, endBytes] = [dropped?.[0] ?? '', Number(dropped?.[1]), Number(dropped?.[2])];
    const head = log.slice(0, reachedAt);
    const end = log.slice((dropped?.index ?? 0) + noteLine.length + 1);
    expect(Buffer.byteLength(end)).toBe(endBytes);
    // The end starts at a line: a whole number of seq's, then the two last lines.
    expect(end).toMatch(/^(\d+\n)+last-but-one\nthe-very-last-line\n$/);
    // The head is the output's start (cut inside a line, the note's line break is the keeper's own).
    const headOutput = head.endsWith('\n') && PRINTED.startsWith(head) ? head : head.slice(0, -1);
    expect(PRINTED.startsWith(headOutput)).toBe(true);
    expect(PRINTED.endsWith(end)).toBe(true);
    expect(droppedBytes).toBe(PRINTED.length - headOutput.length - end.length);

    const response = await responseOf(id);
    expect(response.status).toBe('succeeded');
    expect(outputOf(response.text)).toMatch(/\n\d+\nlast-but-one\nthe-very-last-line\n`{3,}\n?$/);
    // The response says the log is not all of the output, and how much of it the node dropped.
    expect(response.text).toContain(`## Log\n\nThe output below is only its end: all ${statSync(path).size} bytes of output are in \`${path}\` on the node that ran the task`);
    expect(response.text).toContain(`; that node dropped ${droppedBytes} bytes more from the middle of the output, past its cap on a task's log (maxLogSize in its node.yaml).\n`);
    // Read back as before: gitbus logs on another node says where the log is.
    const logs = await gitbus(['logs', id], { home: bus.home('boss') });
    expect(logs.stderr).toContain(`${path} on worker`);
  }, 180_000);

  it.skipIf(!hasTmux)('a tmux task printing 30 times the cap succeeds; its log stays within the cap and ends with its last lines', async () => {
    const id = await bus.dispatch('boss', ['prints a lot in tmux', '--to', 'worker', '--runner', 'tmux', '--command', COMMAND]);
    expect(await runOnce()).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);

    const path = join(worker, 'logs', `${id}.1.log`);
    expect(statSync(path).size).toBeLessThanOrEqual(CAP);
    const log = readFileSync(path, 'utf8');
    expect(log).toContain(REACHED);
    const dropped = DROPPED_RE.exec(log);
    expect(dropped).not.toBeNull();
    // The terminal writes \r\n for each line: more than was printed, never less, is dropped.
    expect(Number(dropped?.[1])).toBeGreaterThan(PRINTED.length - CAP);
    expect(log.replace(/\r\n/g, '\n')).toMatch(/\nlast-but-one\nthe-very-last-line\n$/);

    const response = await responseOf(id);
    expect(response.status).toBe('succeeded');
    expect(outputOf(response.text)).toMatch(/\n\d+\nlast-but-one\nthe-very-last-line\n`{3,}\n?$/);
  }, 180_000);

  it("a claude run whose tools print far past the cap succeeds with its result; its log stays within the cap and ends with claude's result line", async () => {
    const body = ['Print a lot.', ...Array.from({ length: 4 }, () => `@bash seq 1 60000`)].join('\n');
    const d = await gitbus(['dispatch', 'claude prints a lot', '--to', 'worker', '--runner', 'claude', '--body-file', '-', '--json', '--no-git'], { home: bus.home('boss'), input: body });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    expect(await runOnce()).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);

    const path = join(worker, 'logs', `${id}.1.log`);
    expect(statSync(path).size).toBeLessThanOrEqual(CAP);
    const log = readFileSync(path, 'utf8');
    expect(log).toMatch(/^gitbus: .*claude-standin\.mjs --print/);
    expect(log).toContain(REACHED);
    expect(DROPPED_RE.exec(log)).not.toBeNull();
    const lastLine = log.trimEnd().split('\n').pop() ?? '';
    expect(JSON.parse(lastLine)).toMatchObject({ type: 'result', subtype: 'success' });

    const response = await responseOf(id);
    expect(response.status).toBe('succeeded');
    expect(response.text).toContain('## Results\n\nStand-in answer to: Print a lot.');
    expect(outputOf(response.text)).toContain('Stand-in answer to: Print a lot.');
  }, 180_000);
});
