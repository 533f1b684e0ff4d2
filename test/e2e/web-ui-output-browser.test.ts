import { describe, it, expect } from 'vitest';
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { LOG_TAIL_BYTES } from '../../bus/ops/task-output.js';
import { ROOT, gitbus } from '../helpers/cli.js';
import type { UiBus, UiProcess } from '../helpers/web-ui.js';
import { ARTIFACTS, hasChromium, uiInBrowser } from '../helpers/web-ui-browser.js';

/**
 * A task's output as its page in a real browser follows it (web/output-follow.ts): streamed as it is written, a line
 * redrawn in place, a log that repeats itself, a log longer than the page holds. The other pages are in
 * web-ui-browser.test.ts, with the same fixture (test/helpers/web-ui-browser.ts).
 */

let bus: UiBus;
let ui: UiProcess;
let browser: Browser;
let page: Page;

describe.skipIf(!hasChromium)("a task's output in a real browser", () => {
  const refused: string[] = [];
  uiInBrowser({ dialogs: [], refused }, (made) => ({ bus, ui, browser, page } = made));

  /** A task alpha dispatched to itself and claimed, and the path of its run's log, which the test writes as a run would. */
  const claimedHere = async (title: string): Promise<{ id: string; log: string }> => {
    const id = await bus.dispatch('alpha', [title, '--to', 'alpha']);
    expect((await gitbus(['claim', id, '--json'], { home: bus.home('alpha') })).code).toBe(0);
    const logs = join(bus.home('alpha'), 'logs');
    mkdirSync(logs, { recursive: true });
    return { id, log: join(logs, `${id}.1.log`) };
  };

  it('a running task’s output streams into its page as it is written, and the fleet shows it under its node', async () => {
    // The task prints a line, then waits for the test to let it go on: no timing to guess.
    const go = join(bus.dir, 'go');
    const id = await bus.dispatch('alpha', ['count slowly', '--to', 'gamma', '--command', `echo first-line; while [ ! -e '${go}' ]; do sleep 0.1; done; echo second-line`]);
    await page.goto(`${ui.url}task/${id}`);
    const out = page.locator('pre.output');
    await expect.poll(() => out.textContent(), { timeout: 20_000 }).toContain('first-line');
    expect(await out.textContent()).not.toContain('second-line');
    const fleet = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    try {
      await fleet.goto(ui.url);
      const gamma = fleet.locator('article[data-node="gamma"] .running');
      await expect.poll(() => gamma.textContent(), { timeout: 15_000 }).toContain('count slowly');
      await expect.poll(() => fleet.locator('article[data-node="gamma"] .badge').first().textContent(), { timeout: 15_000 }).toBe('live');
      const path = join(ARTIFACTS, 'fleet-running.png');
      await fleet.screenshot({ path });
      console.log(`screenshot: ${path}`);
      // README's picture (docs/web-ui.png): GITBUS_DOCS_SCREENSHOT=1 npx vitest run test/e2e/web-ui-output-browser.test.ts
      if (process.env['GITBUS_DOCS_SCREENSHOT'] === '1') copyFileSync(path, join(ROOT, 'docs', 'web-ui.png'));
    } finally {
      await fleet.close();
    }
    writeFileSync(go, '');
    await expect.poll(() => out.textContent(), { timeout: 20_000 }).toContain('second-line');
    await expect.poll(() => page.locator('.sub .badge').textContent(), { timeout: 20_000 }).toBe('succeeded');
    expect((await out.textContent())?.match(/first-line/g)?.length).toBe(1);
  });

  it('a progress bar redrawn in place replaces the last line of the output, and nothing is shown twice', async () => {
    const [go1, go2] = [join(bus.dir, 'go1'), join(bus.dir, 'go2')];
    // A gate the test opens, bounded (60 s) so that a failed test leaves no task waiting for ever.
    const wait = (f: string) => `i=0; while [ ! -e '${f}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`;
    const id = await bus.dispatch('alpha', ['redraw', '--to', 'gamma', '--command', `echo line one; echo line two; printf 'progress 1%%'; ${wait(go1)}; printf '\\rprogress 2%%'; ${wait(go2)}; printf '\\rprogress 3%%\\n'; echo finished`]);
    await page.goto(`${ui.url}task/${id}`);
    const out = page.locator('pre.output');
    await expect.poll(() => out.textContent(), { timeout: 20_000 }).toContain('progress 1%');
    writeFileSync(go1, '');
    await expect.poll(() => out.textContent(), { timeout: 20_000 }).toBe('line one\nline two\nprogress 2%');
    writeFileSync(go2, '');
    await expect.poll(() => page.locator('.sub .badge').textContent(), { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(() => out.textContent(), { timeout: 20_000 }).toBe('line one\nline two\nprogress 3%\nfinished\n');
  });

  it('a log that repeats itself exactly at the window size is followed by position: the repeat shown once more, nothing dropped or doubled', async () => {
    // A window (LOG_TAIL_BYTES) of numbered lines, written twice: the window read after the second write is the
    // first one, character for character, which text matching took for nothing new.
    const { id, log } = await claimedHere('repeats at the window size');
    const width = 64;
    const n = LOG_TAIL_BYTES / width;
    const block = Buffer.alloc(LOG_TAIL_BYTES);
    for (let i = 0; i < n; i++) block.write(`${String(i).padStart(7, '0')} ${'.'.repeat(width - 9)}\n`, i * width);
    writeFileSync(log, block);
    // Read in the page: the text is 16 MB by the end. `bad`: the first line that is not the next number.
    const lines = () =>
      page.evaluate<{ lines: number; bad: number; last: string }>(`(() => {
        const all = document.querySelector('pre.output')?.textContent?.split('\\n') ?? [];
        let bad = -1;
        for (let k = 0; k < all.length - 1; k++) if (Number(all[k].slice(0, 7)) !== k % ${n}) { bad = k; break; }
        return { lines: all.length - 1, bad, last: all[all.length - 1] ?? '' };
      })()`);
    await page.goto(`${ui.url}task/${id}`);
    await expect.poll(lines, { timeout: 30_000 }).toEqual({ lines: n, bad: -1, last: '' });
    appendFileSync(log, block);
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'repeated'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    await expect.poll(() => page.locator('.sub .badge').textContent(), { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(lines, { timeout: 30_000 }).toEqual({ lines: 2 * n, bad: -1, last: '' });
    expect(refused).toEqual([]);
  });

  it('says above a log longer than the window how much of it is not shown and where all of it is', async () => {
    const { id, log } = await claimedHere('longer than the window');
    const line = `${'.'.repeat(63)}\n`;
    writeFileSync(log, line.repeat(LOG_TAIL_BYTES / line.length + 16));
    await page.goto(`${ui.url}task/${id}`);
    const note = page.locator('#output-h + p');
    await expect.poll(() => note.textContent(), { timeout: 30_000 }).toBe(`Not shown here: the first 1024 bytes of the run's log. All of it is in ${log} on the machine serving this page.`);
    expect(await note.isVisible()).toBe(true);
    // Written anew, shorter: all of it is shown, and the note goes.
    writeFileSync(log, 'short now\n');
    await expect.poll(() => page.locator('pre.output').textContent(), { timeout: 30_000 }).toBe('short now\n');
    expect(await note.isVisible()).toBe(false);
    expect(refused).toEqual([]);
  });

  it('a page open on a run that prints on and on keeps its last window once it holds two, and says earlier output is not shown', async () => {
    const { id, log } = await claimedHere('prints on and on');
    // Numbered lines of 64 characters, written in steps of half a window, each shown before the next is written.
    const width = 64;
    const step = LOG_TAIL_BYTES / 2 / width;
    let written = 0;
    const more = () => {
      const block = Buffer.alloc(step * width);
      for (let i = 0; i < step; i++) block.write(`${String(written + i).padStart(9, '0')} ${'.'.repeat(width - 11)}\n`, i * width);
      appendFileSync(log, block);
      written += step;
    };
    const facts = () =>
      page.evaluate<{ chars: number; first: string; last: string }>(`(() => {
        const t = document.querySelector('pre.output')?.textContent ?? '';
        const lines = t.split('\\n');
        return { chars: t.length, first: lines[0]?.slice(0, 9) ?? '', last: lines[lines.length - 2]?.slice(0, 9) ?? '' };
      })()`);
    more();
    await page.goto(`${ui.url}task/${id}`);
    for (let k = 0; k < 5; k++) {
      await expect.poll(async () => (await facts()).last, { timeout: 30_000 }).toBe(String(written - 1).padStart(9, '0'));
      more();
    }
    await expect.poll(async () => (await facts()).last, { timeout: 30_000 }).toBe(String(written - 1).padStart(9, '0'));
    // Six half windows were shown in turn: past two windows the page kept the last one, from a line's start.
    const f = await facts();
    expect(f.chars).toBeLessThanOrEqual(2 * LOG_TAIL_BYTES);
    expect(Number(f.first)).toBeGreaterThan(0);
    expect(f.chars % width).toBe(0);
    expect(await page.locator('#output-h + p').textContent()).toContain("Not shown here: the run's earlier output (this page keeps the last 8.0 MB).");
    expect(refused).toEqual([]);
  }, 120_000);
});
