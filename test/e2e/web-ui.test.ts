import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CLI, ROOT, gitbus, gitCli, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { writeHeartbeat } from '../helpers/refs.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

// The browser is Debian's chromium, driven by playwright-core (which downloads nothing); scripts/check.sh installs it.
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing, and CI must run the web view's browser tests: "bash scripts/check.sh" installs it`);
if (!hasChromium) console.warn(`web-ui browser tests skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'web-ui');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const PAYLOAD = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>';

const children: ChildProcess[] = [];
let bus: Awaited<ReturnType<typeof makeBus>>;
let ui: { url: string; child: ChildProcess; stderr: () => string; exited: Promise<number | null> };
let beta: string;
let xssId: string;

/** `gitbus ui --json` as its own process: resolves once it printed its URL. */
async function startUi(home: string) {
  const child = spawn(process.execPath, [CLI, 'ui', '--port', '0', '--poll', '1s', '--json'], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let url = '';
  await until(
    'gitbus ui to print its URL',
    () => {
      try {
        url = (JSON.parse(out) as { url: string }).url;
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    () => `stdout: ${out}\nstderr: ${err}`,
  );
  return { url, child, stderr: () => err, exited };
}

/** A request with any method and Host header (fetch may not set Host). */
function raw(method: string, path: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(path, ui.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: host ? { Host: host } : {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    // A body only where the method frames one (Node sends DELETE and OPTIONS without a length).
    req.end(['POST', 'PUT', 'PATCH'].includes(method) ? '{"status":"succeeded"}' : undefined);
  });
}

/** The server-sent events of one stream, as they arrive. */
function events(path: string): { list: { event: string; data: Record<string, unknown> }[]; close: () => void } {
  const list: { event: string; data: Record<string, unknown> }[] = [];
  const u = new URL(path, ui.url);
  let buf = '';
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers: { Accept: 'text/event-stream' } }, (res) => {
    res.on('data', (d: Buffer) => {
      buf += d.toString();
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) list.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { list, close: () => req.destroy() };
}

function remoteMain(): string {
  return gitCli(['--git-dir', bus.remote, 'rev-parse', 'refs/heads/main']).trim();
}

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha', labels: ['gpu'], initArgs: ['--heartbeat', '1s', '--name', 'test fleet'] });
  beta = await bus.addNode('beta', ['linux']);
  const gamma = await bus.addNode('gamma', ['mac'], ['--runner', 'shell']);
  // A fan-out's tasks and an invalid handoff, written with plain git as a person would.
  const work = join(bus.dir, 'work');
  gitCli(['clone', '-q', bus.remote, work]);
  mkdirSync(join(work, 'handoffs'), { recursive: true });
  for (const ws of ['api', 'ui']) writeFileSync(join(work, 'handoffs', `rel-${ws}.md`), `---\ntitle: release 1, ${ws}\nfrom: alpha\nto: beta\ngroup: release-1\nworkstream: ${ws}\n---\n## Task\n\nship the ${ws}\n`);
  writeFileSync(join(work, 'handoffs', 'broken.md'), '---\ntitle: [never closed\n---\nbody\n');
  // beta's card as its watcher would publish it with one environment profile drifting (gitbus env, issue 12).
  const card = readFileSync(join(work, 'nodes', 'beta.md'), 'utf8');
  const drift = 'env:\n  - profile: claude\n    apply: auto\n    counts: { in-sync: 6, conflict: 1 }\n    drift:\n      - { target: "~/.zshrc", state: conflict }\n';
  writeFileSync(join(work, 'nodes', 'beta.md'), card.replace(/\n---\n/, `\n${drift}---\n`));
  gitCli(['add', '-A'], work);
  gitCli(['commit', '-q', '-m', 'a fan-out and a broken handoff'], work);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  xssId = await bus.dispatch('alpha', [PAYLOAD, '--to', 'beta']);
  // A node taken off the bus while its watcher ran: it beats with no card.
  writeHeartbeat(bus.remote, 'ghost', 0);
  startWatcher(gamma, [], children);
  ui = await startUi(bus.home('alpha'));
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe.skipIf(!hasChromium)('gitbus ui in a real browser', () => {
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const refused: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // A CSP violation is logged as a console error: nothing the page does may need one.
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) refused.push(m.text());
    });
    page.on('pageerror', (e) => refused.push(`page error: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
  });

  const shot = async (name: string) => {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };

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
      // README's picture (docs/web-ui.png): GITBUS_DOCS_SCREENSHOT=1 npx vitest run test/e2e/web-ui.test.ts
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

  it('the group and problems pages show the fan-out and the invalid file with its reason', async () => {
    await page.goto(`${ui.url}group/release-1`);
    await expect.poll(() => page.locator('table.list').textContent(), { timeout: 15_000 }).toContain('rel-api');
    expect(await page.locator('table.list').textContent()).toContain('rel-ui');
    await page.goto(`${ui.url}problems`);
    const problem = page.locator('.problem', { hasText: 'handoffs/broken.md' });
    await problem.waitFor({ timeout: 15_000 });
    expect(await problem.textContent()).toMatch(/Fix: /);
  });
});

describe('gitbus ui over plain HTTP', () => {
  it('is read-only: every method but GET and HEAD is refused, and the bus does not move', async () => {
    const before = remoteMain();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      for (const path of ['/', '/api/fleet', `/api/task/${xssId}`]) {
        const r = await raw(method, path);
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers['allow']).toBe('GET, HEAD');
      }
    }
    expect((await raw('HEAD', '/api/fleet')).status).toBe(200);
    expect(remoteMain()).toBe(before);
  });

  it('sends a strict Content-Security-Policy, nosniff and no-referrer on pages, assets and the API', async () => {
    for (const path of ['/', '/tasks', '/assets/app.js', '/assets/app.css', '/api/fleet', '/api/nothing']) {
      const r = await raw('GET', path);
      expect(r.headers['content-security-policy'], path).toBe(CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    const shell = await raw('GET', '/');
    expect(shell.body).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
    expect(shell.body).not.toMatch(/https?:\/\//);
  });

  it('refuses a Host header it was not bound to (DNS rebinding)', async () => {
    const port = new URL(ui.url).port;
    expect((await raw('GET', '/api/fleet', `evil.example:${port}`)).status).toBe(421);
    expect((await raw('GET', '/', `evil.example`)).status).toBe(421);
    expect((await raw('GET', '/api/fleet', `localhost:${port}`)).status).toBe(200);
  });

  it('answers bad and unknown names with 400 and 404, as JSON with the fix', async () => {
    const bad = await raw('GET', '/api/task/..%2Fsecret');
    expect(bad.status).toBe(400);
    const unknown = await raw('GET', '/api/task/nosuchtask');
    expect(unknown.status).toBe(404);
    expect((JSON.parse(unknown.body) as { error: { code: string } }).error.code).toBe('UNKNOWN_TASK');
    expect((await raw('GET', '/api/group/nosuchgroup')).status).toBe(404);
  });

  it('does not read a task file above 256 KiB nor a heartbeat log above 64 KiB: the page and show say they are there', async () => {
    const work = join(bus.dir, 'work');
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'huge1.md'), `---\ntitle: huge\nfrom: alpha\n---\n${'x'.repeat(300 * 1024)}\n`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a handoff above the limit'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const note = /^\(not shown: the file is 30\d{4} bytes, more than the limit of 256 KiB\)\n$/;
    const r = await raw('GET', '/api/task/huge1');
    expect(r.status).toBe(200);
    expect(r.body.length).toBeLessThan(20_000);
    expect((JSON.parse(r.body) as { files: { path: string; text: string }[] }).files[0]?.text).toMatch(note);
    const shown = await gitbus(['show', 'huge1'], { home: bus.home('alpha') });
    expect(shown.stdout).toMatch(/==> handoffs\/huge1\.md <==\n\(not shown: the file is 30\d{4} bytes, more than the limit of 256 KiB\)/);
    // beta holds a task and its heartbeat carries a log of 100 KiB where 4 KiB belong.
    const id = await bus.dispatch('alpha', ['a big beat', '--to', 'beta']);
    expect((await gitbus(['claim', id, '--json'], { home: beta })).code).toBe(0);
    writeHeartbeat(bus.remote, 'beta', 0, { [`${id}.1.log`]: 'y'.repeat(100 * 1024) });
    const s = events(`/api/task/${id}/output`);
    try {
      await until('the output', () => s.list.some((e) => e.event === 'output'), 15_000, () => JSON.stringify(s.list));
      expect(s.list[0]?.data['text']).toBe("(not shown: beta's heartbeat log is 102400 bytes, more than the limit of 64 KiB)\n");
    } finally {
      s.close();
    }
    expect((await gitbus(['logs', id], { home: bus.home('alpha') })).stdout).toContain("beta's heartbeat log is 102400 bytes");
  });

  it('answers a request target that is not a URL path with 400 BAD_INPUT, not an internal error', async () => {
    const { hostname, port } = new URL(ui.url);
    const send = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`));
        let got = '';
        socket.on('data', (d: Buffer) => (got += d.toString()));
        socket.on('end', () => resolve(got));
        socket.on('error', reject);
      });
    for (const target of ['http://[::1', 'http://a:b', 'http://%zz/']) {
      const answer = await send(target);
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('"code":"BAD_INPUT"');
    }
    for (const target of ['//[', '//a:99999/']) expect(await send(target), target).toMatch(/^HTTP\/1\.1 404 /);
    expect(ui.stderr()).not.toContain('internal error');
  });

  it('lists as cardless only heartbeat refs named as nodes and holding a heartbeat commit (status too)', async () => {
    const blob = gitCli(['--git-dir', bus.remote, 'hash-object', '-w', '--stdin'], undefined, 'not a heartbeat\n').trim();
    const odd = ['deep/er/name', '\u202Eevil', 'blobnode'];
    for (const name of odd.slice(0, 2)) writeHeartbeat(bus.remote, name, 0);
    gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/gitbus/heartbeats/blobnode', blob]);
    writeHeartbeat(bus.remote, 'ghost2', 0);
    try {
      let cardless: string[] = [];
      await until(
        'the fleet lists ghost2',
        async () => {
          cardless = (JSON.parse((await raw('GET', '/api/fleet')).body) as { cardless: { node: string }[] }).cardless.map((c) => c.node);
          return cardless.includes('ghost2');
        },
        15_000,
        () => JSON.stringify(cardless),
      );
      expect(cardless).toEqual(['ghost', 'ghost2']);
      const status = await gitbus(['status', '--json'], { home: bus.home('alpha') });
      expect((JSON.parse(status.stdout) as { cardless: { node: string }[] }).cardless.map((c) => c.node)).toEqual(['ghost', 'ghost2']);
    } finally {
      for (const name of [...odd, 'ghost2']) gitCli(['--git-dir', bus.remote, 'update-ref', '-d', `refs/gitbus/heartbeats/${name}`]);
    }
  });

  it("streams a task's output as it is written, then its end (what logs --follow shows)", async () => {
    const id = await bus.dispatch('alpha', ['stream me']);
    expect((await gitbus(['claim', id, '--json'], { home: bus.home('alpha') })).code).toBe(0);
    const log = join(bus.home('alpha'), 'logs', `${id}.1.log`);
    mkdirSync(join(bus.home('alpha'), 'logs'), { recursive: true });
    writeFileSync(log, 'one\n');
    const s = events(`/api/task/${id}/output`);
    try {
      await until('the first output', () => s.list.some((e) => e.event === 'output' && e.data['reset'] === true && e.data['text'] === 'one\n'), 15_000, () => JSON.stringify(s.list));
      appendFileSync(log, 'two\n');
      await until('the appended output', () => s.list.some((e) => e.event === 'output' && e.data['reset'] === false && e.data['text'] === 'two\n'), 15_000, () => JSON.stringify(s.list));
      const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'streamed'], { home: bus.home('alpha') });
      expect(r.code, r.stderr).toBe(0);
      await until('the end', () => s.list.some((e) => e.event === 'end' && e.data['state'] === 'succeeded'), 15_000, () => JSON.stringify(s.list));
    } finally {
      s.close();
    }
  });

  it('tells open pages when the bus changes', async () => {
    const s = events('/api/events');
    try {
      await until('the hello', () => s.list.some((e) => e.event === 'hello'), 10_000);
      await bus.dispatch('beta', ['wake the pages']);
      await until('a change of main', () => s.list.some((e) => e.event === 'change' && e.data['main'] === true), 15_000, () => JSON.stringify(s.list));
      const tasks = await raw('GET', '/api/tasks');
      expect((JSON.parse(tasks.body) as { tasks: { title: string }[] }).tasks.map((t) => t.title)).toContain('wake the pages');
    } finally {
      s.close();
    }
  });

  it('prints its URL with --json and stops on SIGTERM', async () => {
    const second = await startUi(bus.home('beta'));
    expect(second.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const fleet = (await (await fetch(new URL('/api/fleet', second.url))).json()) as { node: string; nodes: unknown[] };
    expect(fleet.node).toBe('beta');
    expect(fleet.nodes).toHaveLength(3);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
