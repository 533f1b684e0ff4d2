import { chmodSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
export function marketplacesKey(s: Settings): 'extraKnownMarketplaces' | 'additionalMarketplaces' {
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
  /** A `gitbus` marketplace that is not a directory one (the user's own: github, git, url...), as its source says, or null. */
  foreign: string | null;
}

function gitbusMarketplace(s: Settings, key: 'extraKnownMarketplaces' | 'additionalMarketplaces' = marketplacesKey(s)): unknown {
  const markets = s[key];
  return isObject(markets) ? markets[MARKETPLACE_NAME] : undefined;
}

/**
 * The source of a `gitbus` marketplace setup did not write, in a few words, or null (none, or a directory one).
 * Setup writes only directory marketplaces, and one pointing elsewhere is an older install's that setup re-points;
 * any other kind is the user's, which setup neither replaces nor removes. Pure.
 */
export function foreignMarketplace(entry: unknown): string | null {
  if (entry === undefined) return null;
  const source = isObject(entry) ? entry['source'] : undefined;
  if (isObject(source) && source['source'] === 'directory') return null;
  if (!isObject(source)) return 'an entry without a source object';
  const kind = typeof source['source'] === 'string' ? source['source'] : 'unknown';
  const where = [source['repo'], source['url'], source['path'], source['package']].find((v): v is string => typeof v === 'string');
  return where === undefined ? kind : `${kind} ${where}`;
}

export function pluginSettingsState(s: Settings): PluginSettingsState {
  const entry = gitbusMarketplace(s);
  const source = isObject(entry) && isObject(entry['source']) ? entry['source'] : undefined;
  const path = source && source['source'] === 'directory' && typeof source['path'] === 'string' ? source['path'] : null;
  const enabled = isObject(s['enabledPlugins']) && s['enabledPlugins'][PLUGIN_ID] === true;
  return { marketplacePath: path, enabled, foreign: foreignMarketplace(entry) };
}

/** `s` with the gitbus marketplace and the plugin enabled; every other key as it was, in its place. Pure. */
export function withPlugin(s: Settings, pluginDir: string): Settings {
  const key = marketplacesKey(s);
  const markets = isObject(s[key]) ? s[key] : {};
  const enabled = isObject(s['enabledPlugins']) ? s['enabledPlugins'] : {};
  return { ...s, [key]: { ...markets, [MARKETPLACE_NAME]: marketplaceEntry(pluginDir) }, enabledPlugins: { ...enabled, [PLUGIN_ID]: true } };
}

/** What the settings held of gitbus's before setup first changed them, so that --remove can put it back. */
export interface SettingsBefore {
  /** Setup made the file: --remove may delete it when nothing else is left. */
  created: boolean;
  /** `enabledPlugins["gitbus@gitbus"]` before setup (true, or false for a plugin the user turned off), or null when absent. */
  enabled: boolean | null;
}

/** What `s` holds before setup changes it (`exists`: whether its file does). Pure. */
export function settingsBefore(s: Settings, exists: boolean): SettingsBefore {
  // A directory marketplace `gitbus` is an older setup's (it wrote no record): the enablement beside it is setup's
  // too, and a file that held nothing else was setup's to make.
  const olderSetup = gitbusMarketplace(s) !== undefined && foreignMarketplace(gitbusMarketplace(s)) === null;
  if (olderSetup) return { created: !exists || Object.keys(withoutPlugin(s)).length === 0, enabled: null };
  const value = isObject(s['enabledPlugins']) ? s['enabledPlugins'][PLUGIN_ID] : undefined;
  return { created: !exists, enabled: typeof value === 'boolean' ? value : null };
}

/**
 * `s` without what withPlugin added: the directory marketplace `gitbus`, and the enablement as it was before
 * (`before`; without a record, removed). A foreign `gitbus` marketplace is the user's, and so is the enablement
 * that goes with it: both stay. A key left empty goes. Pure.
 */
export function withoutPlugin(s: Settings, before: SettingsBefore | null = null): Settings {
  const out: Settings = { ...s };
  for (const key of ['extraKnownMarketplaces', 'additionalMarketplaces'] as const) {
    const markets = out[key];
    if (!isObject(markets) || !(MARKETPLACE_NAME in markets) || foreignMarketplace(markets[MARKETPLACE_NAME]) !== null) continue;
    const { [MARKETPLACE_NAME]: _gone, ...rest } = markets;
    if (Object.keys(rest).length === 0) delete out[key];
    else out[key] = rest;
  }
  if (foreignMarketplace(gitbusMarketplace(out)) !== null) return out;
  const enabled = out['enabledPlugins'];
  if (isObject(enabled) && before?.enabled != null) out['enabledPlugins'] = { ...enabled, [PLUGIN_ID]: before.enabled };
  else if (isObject(enabled) && PLUGIN_ID in enabled) {
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
  const backup = existsSync(file) ? backupFile(file, place, now) : null;
  writeKeepingMode(file, text);
  return backup;
}

/**
 * Writes `text` to `file` atomically with the permission bits the file had (a CLAUDE.md kept 600, or 444 against
 * edits), not a new file's. The mode given to open() is narrowed by the umask, so it is set again after.
 */
export function writeKeepingMode(file: string, text: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : undefined;
  writeFileAtomicSync(file, text, undefined, mode === undefined ? undefined : { mode });
  if (mode !== undefined) chmodSync(file, mode);
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
