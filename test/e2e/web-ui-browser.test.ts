import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { gitbus, gitCli } from '../helpers/cli.js';
import { PAYLOAD, resolveFiles, type UiBus, type UiProcess } from '../helpers/web-ui.js';
import { hasChromium, shot as shotOf, uiInBrowser } from '../helpers/web-ui-browser.js';

/**
 * The web view's pages in a real browser: `gitbus ui` as a process over a bus of three nodes, gamma's watcher
 * running tasks, and the pages' own fixtures (a fan-out, an invalid handoff, beta's environment drift; see
 * test/helpers/web-ui.ts and web-ui-browser.ts). What the server answers to plain HTTP is in web-ui-http.test.ts; a
 * task's output as its page follows it, in web-ui-output-browser.test.ts.
 */

let bus: UiBus;
let ui: UiProcess;
let beta: string;
let xssId: string;
let page: Page;

describe.skipIf(!hasChromium)('gitbus ui in a real browser', () => {
  const dialogs: string[] = [];
  const refused: string[] = [];
  uiInBrowser({ dialogs, refused }, (made) => ({ bus, ui, beta, xssId, page } = made));
  const shot = (name: string) => shotOf(page, name);

  it('the fleet page renders every node of the test bus with its state, version, system, labels and environment drift', async () => {
    await page.goto(ui.url);
    await page.locator('article[data-node]').nth(2).waitFor({ timeout: 15_000 });
    expect(await page.locator('article[data-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')))).toEqual(['alpha', 'beta', 'gamma']);
    const alpha = page.locator('article[data-node="alpha"]');
    await expect.poll(() => alpha.textContent()).toContain('this node');
    const text = (await alpha.textContent()) ?? '';
    expect(text).toContain('gpu');
    expect(text).toContain(`${platform()}/${arch()}`);
    expect(text).toContain('0.1.0');
    expect(text).toContain('no watcher');
    // Drift of an environment profile, as beta's card reports it.
    expect(await page.locator('article[data-node="beta"]').textContent()).toContain('claude (auto): 6 in-sync, 1 conflict: ~/.zshrc conflict');
    // gamma's watcher beats every second: the page shows it live, and when it beat.
    const gamma = page.locator('article[data-node="gamma"]');
    await expect.poll(() => gamma.locator('.badge').first().textContent(), { timeout: 15_000 }).toBe('live');
    expect(await gamma.textContent()).toMatch(/Last beat\s*\d+s ago/);
    expect(await page.locator('main').textContent()).toContain('test fleet');
    // Listed apart from the cards, with its liveness and the fix.
    const ghost = page.locator('[data-cardless="ghost"]');
    expect(await ghost.textContent()).toMatch(/^ghost live/);
    expect(await page.locator('section[aria-labelledby="fleet-cardless"]').textContent()).toContain('gitbus leave --node NAME');
    await shot('fleet');
    // Its tasks are a click away: the task list filtered to that node.
    await ghost.locator('a', { hasText: 'its tasks' }).click();
    await expect.poll(() => page.locator('#f-node').inputValue(), { timeout: 15_000 }).toBe('ghost');
    expect(new URL(page.url()).search).toBe('?node=ghost');
  });

  it('a task finished by another node appears without a reload', async () => {
    const id = await bus.dispatch('alpha', ['ship the docs', '--to', 'beta']);
    await page.goto(`${ui.url}tasks`);
    const row = page.locator('table.list tr', { has: page.locator(`a[href="/task/${id}"]`) });
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 15_000 }).toBe('pending');
    await page.evaluate('window.__sameDocument = true');
    expect((await gitbus(['claim', id, '--json'], { home: beta })).code).toBe(0);
    expect((await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done'], { home: beta })).code).toBe(0);
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 15_000 }).toBe('succeeded');
    expect(await page.locator('.column-succeeded').textContent()).toContain('ship the docs');
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await shot('tasks');
  });

  it('a change the server saw before the page\'s event stream connected is shown once it connects', async () => {
    // The stream held back: the page reads its data, then the bus moves and the server tells its open streams, none
    // of them this page's; then the stream connects. (A task dispatched just as the page opened stayed missing.)
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/events', async (route) => {
      await held;
      await route.continue();
    });
    try {
      await page.goto(`${ui.url}tasks`);
      await page.locator('table.list').waitFor({ timeout: 15_000 });
      const id = await bus.dispatch('alpha', ['seen when the stream connects', '--to', 'beta']);
      // The server has seen the move: its own answer lists the task, while the page heard nothing.
      await expect.poll(async () => JSON.stringify(await (await fetch(new URL('/api/tasks', ui.url))).json()), { timeout: 15_000 }).toContain(id);
      const row = page.locator('table.list tr', { has: page.locator(`a[href="/task/${id}"]`) });
      expect(await row.count()).toBe(0);
      release();
      await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    } finally {
      release();
      await page.unroute('**/api/events');
    }
  });

  it('a handoff whose title is a script payload renders as text, and nothing runs', async () => {
    await page.goto(`${ui.url}task/${xssId}`);
    const h1 = page.locator('main h1');
    await expect.poll(() => h1.textContent(), { timeout: 15_000 }).toBe(PAYLOAD);
    expect(await page.locator('pre').filter({ hasText: 'title:' }).textContent()).toContain(PAYLOAD);
    await page.goto(`${ui.url}tasks`);
    await expect.poll(() => page.locator('table.list').textContent(), { timeout: 15_000 }).toContain(PAYLOAD);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(refused).toEqual([]);
    await shot('script-payload');
  });

  it('shows bidirectional overrides and control characters as the CLI does, and isolates bus text', async () => {
    const id = await bus.dispatch('alpha', ['Review invoice \u202Efdp.exe\u202C now', '--to', 'beta']);
    const shown = 'Review invoice <U+202E>fdp.exe<U+202C> now';
    await page.goto(`${ui.url}task/${id}`);
    const h1 = page.locator('main h1');
    await expect.poll(() => h1.textContent(), { timeout: 15_000 }).toBe(shown);
    expect(await page.locator('pre').filter({ hasText: 'title:' }).textContent()).toContain(shown);
    expect(await page.evaluate<string>("getComputedStyle(document.querySelector('main h1')).unicodeBidi")).toBe('isolate');
    // An invalid handoff's raw ESC, NUL and BEL, pushed with plain git.
    const work = join(bus.dir, 'work');
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'ctl1.md'), '---\ntitle: bell\x07\n---\nesc \x1b[31mred\x00\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'control characters'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    await page.goto(`${ui.url}task/ctl1`);
    const file = page.locator('pre[aria-label="handoffs/ctl1.md"]');
    await expect.poll(() => file.textContent(), { timeout: 15_000 }).toBe('---\ntitle: bell^G\n---\nesc ^[[31mred^@\n');
    expect(refused).toEqual([]);
  });

  it('keyboard: a skip link, a visible focus, j/k through the list and Enter to open a task', async () => {
    await page.goto(`${ui.url}tasks`);
    await page.locator('table.list a[data-nav]').nth(1).waitFor({ timeout: 15_000 });
    type Active = { tag?: string; id?: string; text?: string; href?: string | null; outline: string };
    const active = () =>
      page.evaluate<Active>(`(() => {
        const el = document.activeElement;
        const style = el ? getComputedStyle(el) : null;
        return { tag: el?.tagName, id: el?.id, text: el?.textContent?.trim(), href: el?.getAttribute('href'), outline: style ? style.outlineStyle + ' ' + style.outlineWidth : '' };
      })()`);
    await page.keyboard.press('Tab');
    const skip = await active();
    expect(skip.text).toBe('Skip to content');
    expect(skip.outline).not.toMatch(/^none|\b0px$/);
    await page.keyboard.press('Enter');
    expect((await active()).id).toBe('main');
    const links = await page.locator('table.list a[data-nav]').evaluateAll((els) => els.map((e) => e.getAttribute('href')));
    await page.keyboard.press('j');
    expect((await active()).href).toBe(links[0]);
    await page.keyboard.press('j');
    expect((await active()).href).toBe(links[1]);
    expect((await active()).outline).not.toMatch(/^none|\b0px$/);
    await page.keyboard.press('k');
    expect((await active()).href).toBe(links[0]);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${ui.url.replace(/\/$/, '')}${links[0]}`);
    await expect.poll(async () => (await active()).tag).toBe('H1');
    // The column headers sort from the keyboard too.
    await page.goto(`${ui.url}tasks`);
    await page.locator('table.list a[data-nav]').nth(1).waitFor({ timeout: 15_000 });
    await page.locator('button.sort', { hasText: 'ID' }).focus();
    await page.keyboard.press('Enter');
    const ids = await page.locator('table.list a[data-nav]').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    expect(ids).toEqual([...ids].sort());
    expect(page.url()).toContain('sort=id');
  });

  it('a bad address shows a page saying so: a sort key that is no column, an id that is no task id', async () => {
    await page.goto(`${ui.url}tasks?sort=__proto__`);
    await page.locator('table.list a[data-nav]').first().waitFor({ timeout: 15_000 });
    await page.goto(`${ui.url}tasks?sort=constructor&dir=asc`);
    await page.locator('table.list a[data-nav]').first().waitFor({ timeout: 15_000 });
    const answer = await page.goto(`${ui.url}task/Bad_ID`);
    expect(answer?.status()).toBe(400);
    expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
    await expect.poll(() => page.locator('main .notice-error').textContent(), { timeout: 15_000 }).toContain('"Bad_ID" is not a task id');
    await page.goto(`${ui.url}group/UPPER`);
    await expect.poll(() => page.locator('main .notice-error').textContent(), { timeout: 15_000 }).toContain('"UPPER" is not a group name');
    expect(refused).toEqual([]);
  });

  it('is usable 375 px wide: no page scrolls sideways and the board stacks', async () => {
    await page.setViewportSize({ width: 375, height: 760 });
    try {
      for (const [name, path, ready] of [
        ['narrow-fleet', '', 'article[data-node]'],
        ['narrow-tasks', 'tasks', 'table.list'],
        ['narrow-task', `task/${xssId}`, 'pre'],
        ['narrow-group', 'group/release-1', 'table.list'],
        ['narrow-problems', 'problems', '.problem'],
      ] as const) {
        await page.goto(`${ui.url}${path}`);
        await page.locator(ready).first().waitFor({ timeout: 15_000 });
        const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
        expect(scroll, `${path || '/'} is ${scroll} px wide`).toBeLessThanOrEqual(client);
        await shot(name);
      }
      await page.goto(`${ui.url}tasks`);
      await page.locator('.column').first().waitFor();
      const xs = await page.locator('.column').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().x)));
      expect(new Set(xs).size).toBe(1);
    } finally {
      await page.setViewportSize({ width: 1100, height: 760 });
    }
  });

  it('bus text with no place to break (a title a node runs, why a task failed) wraps at 375 px instead of widening the page', async () => {
    const long = 'W'.repeat(200);
    const running = await bus.dispatch('alpha', [long, '--to', 'beta', '--runner', 'manual', '--group', 'long-words']);
    expect((await gitbus(['claim', running, '--json'], { home: beta })).code).toBe(0);
    const failed = await bus.dispatch('alpha', ['fails at length', '--to', 'beta', '--runner', 'manual', '--group', 'long-words']);
    expect((await gitbus(['claim', failed, '--json'], { home: beta })).code).toBe(0);
    expect((await gitbus(['respond', failed, '--status', 'failed', '--reason', 'R'.repeat(3000)], { home: beta })).code).toBe(0);
    await page.setViewportSize({ width: 375, height: 760 });
    try {
      for (const [path, ready, text] of [
        ['', 'article[data-node="beta"] .running', long],
        ['group/long-words', 'li strong', 'R'.repeat(100)],
      ] as const) {
        await page.goto(`${ui.url}${path}`);
        await expect.poll(() => page.locator('main').textContent(), { timeout: 15_000 }).toContain(text);
        await page.locator(ready).first().waitFor({ timeout: 15_000 });
        const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
        expect(scroll, `${path || '/'} is ${scroll} px wide`).toBeLessThanOrEqual(client);
      }
      await shot('narrow-long-words');
    } finally {
      await page.setViewportSize({ width: 1100, height: 760 });
    }
  });

  it('the group and problems pages show the fan-out and the invalid file with its reason, and its task page says why it is invalid', async () => {
    await page.goto(`${ui.url}group/release-1`);
    await expect.poll(() => page.locator('table.list').textContent(), { timeout: 15_000 }).toContain('rel-api');
    expect(await page.locator('table.list').textContent()).toContain('rel-ui');
    await page.goto(`${ui.url}problems`);
    const problem = page.locator('.problem', { hasText: 'handoffs/broken.md' });
    await problem.waitFor({ timeout: 15_000 });
    expect(await problem.textContent()).toMatch(/Fix: /);
    // As `gitbus show` lists them: each of the task's problems with its path, field, reason and fix.
    await page.goto(`${ui.url}task/broken`);
    const section = page.locator('section', { has: page.locator('h2', { hasText: 'Problems' }) });
    await section.waitFor({ timeout: 15_000 });
    expect(await page.locator('.sub .badge').textContent()).toBe('invalid');
    type Shown = { summary: { problems: { path: string; field: string; reason: string; fix: string }[] } };
    const { problems } = (await page.evaluate<Shown>("fetch('/api/task/broken').then((r) => r.json())")).summary;
    expect(problems.length).toBeGreaterThan(0);
    expect(await section.locator('.problem').count()).toBe(problems.length);
    for (const [i, p] of problems.entries()) {
      const text = await section.locator('.problem').nth(i).textContent();
      expect(text).toContain(`${p.path}${p.field ? ` (${p.field})` : ''}${p.reason}Fix: ${p.fix}`);
    }
  });

  it('the group page says a resolve that pushed the branch without the workstreams did not resolve it, who did, and a workstream resumed since, as gitbus group does', async () => {
    await page.goto(`${ui.url}group/release-1`);
    const conflicts = page.locator('section', { has: page.locator('h2', { hasText: 'Conflicts' }) });
    await conflicts.waitFor({ timeout: 15_000 });
    expect(await conflicts.textContent()).toContain('release-1/ui: README.md');
    expect(await conflicts.locator('[data-incomplete="rel-fix1"]').textContent()).toBe('Resolve rel-fix1 pushed release-1/integration without release-1/api, release-1/ui: not resolved.');
    expect(await conflicts.textContent()).toContain('Resolve again: gitbus resolve rel-int, or merge again once the workstreams are fixed: gitbus resolve rel-int --runner merge');
    expect(await conflicts.locator('[data-resolved-by]').count()).toBe(0);
    expect((await gitbus(['group', 'release-1'], { home: bus.home('alpha') })).stdout).toContain('resolve rel-fix1 pushed release-1/integration without release-1/api, release-1/ui: not resolved');
    await page.evaluate('window.__sameDocument = true');
    // A second resolve pushes the branch with both merged: the page follows the bus to it without a reload.
    const work = join(bus.dir, 'work');
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    for (const [path, text] of Object.entries(resolveFiles('rel-fix2', 'succeeded', ['release-1/api', 'release-1/ui']))) writeFileSync(join(work, path), text);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a resolve that merged both'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const resolved = conflicts.locator('[data-resolved-by="rel-fix2"]');
    await resolved.waitFor({ timeout: 15_000 });
    expect(await resolved.textContent()).toBe('Resolved by rel-fix2: the result is on release-1/integration.');
    expect(await conflicts.locator('[data-incomplete]').count()).toBe(0);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await shot('group-resolved');
    // A workstream resumed after that: the resolved branch lacks what it will add, and the page says so.
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'rel-api2.md'), `---\ntitle: release 1, api again\nfrom: alpha\nto: beta\nrunner: claude\nrepo: /srv/release.git\nbranch: release-1/api\ngroup: release-1\nresumes: rel-api\n---\n`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a workstream resumed'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const moved = page.locator('[data-moved-since]');
    await moved.waitFor({ timeout: 15_000 });
    expect(await moved.textContent()).toContain('release-1/integration lacks what came after it on these workstreams:api: being resumed by rel-api2, which may move it');
    expect(await moved.textContent()).toContain('Merge again once the resumes ended: gitbus resolve rel-int --runner merge --force');
    expect((await gitbus(['group', 'release-1'], { home: bus.home('alpha') })).stdout).toContain('  api: being resumed by rel-api2, which may move it');
  });
});
