import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../bus/local-io.js';
import { JsonNumberText, parseJsonKeepingNumbers, renderJsonKeepingNumbers } from '../bus/json-keeping-numbers.js';
import { ClaudeSettingsInvalidError } from './errors.js';
import { MARKETPLACE_NAME, PLUGIN_ID } from './plugin-files.js';

/** A Claude Code settings file as JSON: gitbus touches two keys of it and keeps every other as it was. */
export type Settings = Record<string, unknown>;

/**
 * Claude Code reads `additionalMarketplaces` as an alias of `extraKnownMarketplaces` and ignores it when both are
 * in one file, so gitbus writes to whichever of the two the file already uses.
 */
function marketplacesKey(s: Settings): 'extraKnownMarketplaces' | 'additionalMarketplaces' {
  return 'additionalMarketplaces' in s && !('extraKnownMarketplaces' in s) ? 'additionalMarketplaces' : 'extraKnownMarketplaces';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);

/** Why `s` cannot be changed safely, or null. Pure. */
export function settingsProblem(s: unknown): string | null {
  if (!isObject(s)) return 'it is not a JSON object';
  for (const key of ['extraKnownMarketplaces', 'additionalMarketplaces', 'enabledPlugins']) {
    if (key in s && !isObject(s[key])) return `"${key}" is not an object`;
  }
  return null;
}

/** The marketplace entry that points Claude Code at the plugin folder of this gitbus. */
export function marketplaceEntry(pluginDir: string): Record<string, unknown> {
  return { source: { source: 'directory', path: pluginDir } };
}

export interface PluginSettingsState {
  /** Where the settings' `gitbus` marketplace points, or null when there is none. */
  marketplacePath: string | null;
  /** `enabledPlugins["gitbus@gitbus"]` is true. */
  enabled: boolean;
}

export function pluginSettingsState(s: Settings): PluginSettingsState {
  const markets = s[marketplacesKey(s)];
  const entry = isObject(markets) ? markets[MARKETPLACE_NAME] : undefined;
  const source = isObject(entry) && isObject(entry['source']) ? entry['source'] : undefined;
  const path = source && source['source'] === 'directory' && typeof source['path'] === 'string' ? source['path'] : null;
  const enabled = isObject(s['enabledPlugins']) && s['enabledPlugins'][PLUGIN_ID] === true;
  return { marketplacePath: path, enabled };
}

/** `s` with the gitbus marketplace and the plugin enabled; every other key as it was, in its place. Pure. */
export function withPlugin(s: Settings, pluginDir: string): Settings {
  const key = marketplacesKey(s);
  const markets = isObject(s[key]) ? s[key] : {};
  const enabled = isObject(s['enabledPlugins']) ? s['enabledPlugins'] : {};
  return { ...s, [key]: { ...markets, [MARKETPLACE_NAME]: marketplaceEntry(pluginDir) }, enabledPlugins: { ...enabled, [PLUGIN_ID]: true } };
}

/** `s` without what withPlugin added; a key left empty by that goes too. Pure. */
export function withoutPlugin(s: Settings): Settings {
  const out: Settings = { ...s };
  for (const key of ['extraKnownMarketplaces', 'additionalMarketplaces'] as const) {
    const markets = out[key];
    if (!isObject(markets) || !(MARKETPLACE_NAME in markets)) continue;
    const { [MARKETPLACE_NAME]: _gone, ...rest } = markets;
    if (Object.keys(rest).length === 0) delete out[key];
    else out[key] = rest;
  }
  const enabled = out['enabledPlugins'];
  if (isObject(enabled) && PLUGIN_ID in enabled) {
    const { [PLUGIN_ID]: _gone, ...rest } = enabled;
    if (Object.keys(rest).length === 0) delete out['enabledPlugins'];
    else out['enabledPlugins'] = rest;
  }
  return out;
}

/** A settings file as read: its object, or none yet. Refuses (never overwrites) a file that is not a JSON object. */
export function readSettings(file: string, again?: string): { settings: Settings; exists: boolean; text: string } {
  if (!existsSync(file)) return { settings: {}, exists: false, text: '' };
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return { settings: {}, exists: true, text };
  let parsed: unknown;
  try {
    parsed = parseJsonKeepingNumbers(text);
  } catch (err) {
    throw new ClaudeSettingsInvalidError(file, `not valid JSON (${(err as Error).message})`, again);
  }
  const problem = settingsProblem(parsed);
  if (problem) throw new ClaudeSettingsInvalidError(file, problem, again);
  return { settings: parsed as Settings, exists: true, text };
}

/** As Claude Code writes it; its numbers as the file wrote them (bus/json-keeping-numbers.ts). */
export function renderSettings(s: Settings): string {
  return `${renderJsonKeepingNumbers(s)}\n`;
}

/**
 * Where a file's backups go and what they are called: `<dir>/<label>.gitbus-backup-<time>`. Outside any project, so
 * that a backup of a project's settings is never committed with it; the name ends as env sync's never-synced rule
 * (schemas/env-paths.ts) expects, so a backup stays on its machine.
 */
export interface BackupPlace {
  dir: string;
  label: string;
}

/**
 * Writes `text` to `file` atomically, keeping the file's mode; an existing file is first copied to a backup of its
 * own (backupFile), which is returned.
 */
export function writeWithBackup(file: string, text: string, place: BackupPlace, now: Date = new Date()): string | null {
  mkdirSync(dirname(file), { recursive: true });
  let backup: string | null = null;
  let mode: number | undefined;
  if (existsSync(file)) {
    mode = statSync(file).mode & 0o777;
    backup = backupFile(file, place, now);
  }
  writeFileAtomicSync(file, text, undefined, mode === undefined ? undefined : { mode });
  return backup;
}

/** Removes `file` after copying it to a backup of its own (backupFile), which is returned. */
export function removeWithBackup(file: string, place: BackupPlace, now: Date = new Date()): string | null {
  if (!existsSync(file)) return null;
  const backup = backupFile(file, place, now);
  rmSync(file, { force: true });
  return backup;
}

/**
 * Copies `file` to a backup name no other backup has: a setup and a --remove within one second would otherwise
 * give the same name, and the second copy would replace the first, the only one of the original. COPYFILE_EXCL
 * makes "not taken" and "copied" one step. The folder is the owner's alone: settings may hold keys.
 */
export function backupFile(file: string, place: BackupPlace, now: Date = new Date()): string {
  mkdirSync(place.dir, { recursive: true, mode: 0o700 });
  const base = join(place.dir, `${place.label}.gitbus-backup-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`);
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    try {
      copyFileSync(file, name, constants.COPYFILE_EXCL);
      return name;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw err;
    }
  }
}
