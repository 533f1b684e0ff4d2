import type * as Cron from 'cron';
import { ownRequire } from '../../schemas/own-require.js';

let lib: typeof Cron | undefined;

/**
 * cron, loaded on first use (issue 14): with luxon it is ~280 KB that every command compiled at start-up, and only
 * a scheduled task's due time needs it. Synchronous (require), because latestDue() is called inside synchronous
 * trust decisions. The CLI bundle leaves cron out (scripts/bundle.mjs), so this and the watcher's timer share
 * one copy from node_modules.
 */
export function cron(): typeof Cron {
  lib ??= ownRequire('cron') as typeof Cron;
  return lib;
}
