import { createRequire } from 'node:module';
import type * as Cron from 'cron';

let lib: typeof Cron | undefined;

/**
 * cron, loaded on first use (issue 14): with luxon it is ~280 KB that every command compiled at start-up, and only
 * a scheduled task's due time needs it. Synchronous (require), because latestDue() is called inside synchronous
 * trust decisions. The CLI bundle leaves cron out (scripts/bundle.mjs), so this and the watcher's timer share
 * one copy from node_modules.
 */
export function cron(): typeof Cron {
  lib ??= createRequire(import.meta.url)('cron') as typeof Cron;
  return lib;
}
