import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim } from '../../bus/ops/claim.js';
import { publishHeartbeat } from '../../bus/ops/heartbeat.js';
import { LOG_TAIL_BYTES, readLog, taskOutput } from '../../bus/ops/task-output.js';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A run's log on the node that ran it, as `logs` reads it: a log longer than any string (a task that printed
 * gigabytes) is read from near its end, never swallowed into "no log" so that something else is shown in its place.
 */
describe('a long log', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let id: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    id = await bus.dispatch('alpha', ['loud', '--command', 'true']);
    ctx = await openBus(bus.home('alpha'));
    // A person's claim, with the log a watcher would have written for attempt 1.
    await claim(ctx, { id });
    mkdirSync(ctx.paths.logs, { recursive: true });
    const line = `${'x'.repeat(99)}\n`;
    writeFileSync(join(ctx.paths.logs, `${id}.1.log`), `first line\n${line.repeat(Math.ceil((LOG_TAIL_BYTES + 1_000_000) / line.length))}last line\n`);
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('is read from the first whole line of its last bytes, and says how much is left out and where all of it is', () => {
    const r = readLog(ctx, id, 1, 1000);
    expect(r?.text.startsWith('x'.repeat(99))).toBe(true);
    expect(r?.text.endsWith('last line\n')).toBe(true);
    expect(r?.text).not.toContain('first line');
    expect(r?.log.skipped).toBe((r?.log.bytes ?? 0) - Buffer.byteLength(r?.text ?? ''));
    expect(r?.log.path).toBe(join(ctx.paths.logs, `${id}.1.log`));
    // A tail that starts right after a line end keeps its first line; one with no line end starts at a whole character.
    writeFileSync(join(ctx.paths.logs, `${id}.7.log`), 'aaaa\nbbbb\n');
    expect(readLog(ctx, id, 7, 5)).toMatchObject({ text: 'bbbb\n', log: { skipped: 5 } });
    writeFileSync(join(ctx.paths.logs, `${id}.8.log`), '\u00e9'.repeat(10));
    expect(readLog(ctx, id, 8, 5)?.text).toBe('\u00e9\u00e9');
    // A FIFO where the log goes is not waited on.
    execFileSync('mkfifo', [join(ctx.paths.logs, `${id}.9.log`)]);
    expect(readLog(ctx, id, 9)).toBeNull();
    // A short log is all there.
    const all = readLog(ctx, id, 1, Number.MAX_SAFE_INTEGER);
    expect(all?.log.skipped).toBe(0);
    expect(all?.text.startsWith('first line\n')).toBe(true);
  });

  it('logs and logs --raw show its end from this node\'s log, not the heartbeat or response in its place', async () => {
    const out = await taskOutput(ctx, id, { raw: true });
    expect(out.source).toBe('local');
    expect(out.text.endsWith('last line\n')).toBe(true);
    expect(out.log?.skipped).toBeGreaterThan(1_000_000);
    expect(Buffer.byteLength(out.text)).toBeLessThanOrEqual(LOG_TAIL_BYTES);
    const cli = await gitbus(['logs', id], { home: bus.home('alpha') });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.endsWith('last line\n')).toBe(true);
    // A little under 1 MiB left out: said in KB, as an amount under a unit is (cli/output-note.ts size).
    expect(cli.stderr).toMatch(/the log is 9\.\d MB; its first (1\.\d MB|\d{3,4}\.\d KB) are not shown\. All of it is in .*\.1\.log/);
    const j = await gitbus(['logs', id, '--raw', '--json'], { home: bus.home('alpha') });
    // Only looked at, for a follower that reads the log itself: where the task stands and the log's size, no text.
    const looked = await taskOutput(ctx, id, { logText: false });
    expect(looked).toMatchObject({ source: 'local', state: out.state, text: '', log: { path: out.log?.path, bytes: out.log?.bytes, skipped: out.log?.bytes } });
    expect(json<{ source: string; log: { skipped: number } }>(j)).toMatchObject({ source: 'local', log: { skipped: out.log?.skipped }, truncated: true, totalBytes: out.log?.bytes, shownBytes: (out.log?.bytes ?? 0) - (out.log?.skipped ?? 0), fullLogPath: out.log?.path });
  });
  it('a heartbeat publishes no URL password: not in the output tail it carries, nor in the progress', async () => {
    const secret = 'https://me:s3cretTOKEN@git.example/app.git';
    await publishHeartbeat(ctx, [{ id, attempt: 1, tail: `Cloning into 'app'... ${secret}\n`, progress: { text: `fetching ${secret}`, at: new Date().toISOString() } }]);
    const show = (path: string) => execFileSync('git', ['--git-dir', bus.remote, 'show', `refs/gitbus/heartbeats/alpha:${path}`], { encoding: 'utf8' });
    const log = show(`logs/${id}.1.log`);
    const beat = show('heartbeat.yaml');
    expect(log + beat).not.toContain('s3cretTOKEN');
    expect(log).toContain('https://***@git.example/app.git');
    expect(beat).toContain('fetching https://***@git.example/app.git');
  });
});
