import { afterAll, beforeAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from './cli.js';
import { makeUiBus, spawnUi, type UiBus, type UiProcess } from './web-ui.js';
import { startWatcher } from './watcher-process.js';

/**
 * The web view's pages in a real browser (test/e2e/web-ui-*browser.test.ts): `gitbus ui` as a process over the pages'
 * bus (test/helpers/web-ui.ts), gamma's watcher running tasks, and one Chromium page that records dialogs and
 * Content Security Policy refusals.
 */

// The browser is Debian's chromium, driven by playwright-core (which downloads nothing); scripts/check.sh installs it.
const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing, and CI must run the web view's browser tests: "bash scripts/check.sh" installs it`);
if (!hasChromium) console.warn(`web-ui browser tests skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

export const ARTIFACTS = join(ROOT, 'test-artifacts', 'web-ui');

export interface UiInBrowser {
  bus: UiBus;
  ui: UiProcess;
  beta: string;
  xssId: string;
  browser: Browser;
  page: Page;
}

/**
 * Inside a describe: made before its tests, removed after. `ready` gets the bus, the server and the page once they
 * are there; `dialogs` and `refused` are filled as the page meets them (a dialog, a CSP violation, a page error).
 */
export function uiInBrowser(seen: { dialogs: string[]; refused: string[] }, ready: (made: UiInBrowser) => void): void {
  const children: ChildProcess[] = [];
  let bus: UiBus | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const made = await makeUiBus({ pages: true });
    bus = made.bus;
    startWatcher(made.gamma, [], children);
    const ui = await spawnUi(made.bus.home('alpha'), children);
    mkdirSync(ARTIFACTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('dialog', (d) => {
      seen.dialogs.push(d.message());
      void d.dismiss();
    });
    // A CSP violation is logged as a console error: nothing the page does may need one.
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) seen.refused.push(m.text());
    });
    page.on('pageerror', (e) => seen.refused.push(`page error: ${e.message}`));
    ready({ bus: made.bus, ui, beta: made.beta, xssId: made.xssId, browser, page });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of children) c.kill('SIGKILL');
    await bus?.cleanup();
  });
}

/** A screenshot of the whole page into test-artifacts/web-ui/, its path logged. */
export async function shot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}
