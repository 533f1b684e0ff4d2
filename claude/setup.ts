import { accessSync, constants, existsSync, lstatSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { InputError } from '../bus/errors.js';
import { shellQuote } from '../watcher/service/manager.js';
import { approxTokens, blockState, removeBlocks, renderBlock, scanBlocks, upsertBlock, type BlockState, type FoundBlock } from './claude-md.js';
import { ClaudeMarketplaceTakenError, ClaudeMdMarkersError, marketplaceTakenFix } from './errors.js';
import { dropRecord, readRecord, recordFile, writeRecord } from './setup-record.js';
import { claudeConfigDir, PLUGIN_ID, pluginDir, pluginVersion } from './plugin-files.js';
import { rulesText } from './primer.js';
import { marketplacesKey, pluginSettingsState, readSettings, renderSettings, settingsBefore, withoutPlugin, withPlugin, removeWithBackup, writeKeepingMode, writeWithBackup, type BackupPlace, type PluginSettingsState } from './settings.js';

export type SetupScope = 'user' | 'project';
export type SetupMode = 'install' | 'check' | 'remove';

export interface SetupTarget {
  scope: SetupScope;
  /** ~/.claude/settings.json, or <project>/.claude/settings.json. */
  settingsFile: string;
  /** ~/.claude/CLAUDE.md, or <project>/CLAUDE.md. */
  claudeMd: string;
  /** The project folder (project scope), for Claude Code's record of where the plugin is installed. */
  projectDir: string | null;
  /** claude-plugin/ of this gitbus, which the settings' directory marketplace points at. */
  pluginDir: string;
  version: string;
  configDir: string;
  /** The command that sets this target up, as a person types it: with --dir when one was given, so it works from any folder. */
  command: string;
  /** Where the settings file's backups go: the user's Claude config folder, never the project, where one could be committed. */
  backups: BackupPlace;
}

/** The folder of every backup setup makes, the user's and each project's. */
export function backupsDir(configDir: string): string {
  return join(configDir, 'gitbus-backups');
}

/** A project's backups are told apart by its folder's name, and by a hash of its path from another of that name. Pure. */
export function projectBackupLabel(dir: string): string {
  return `${basename(dir) || 'root'}-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}.settings.json`;
}

export function setupTarget(scope: SetupScope, opts: { dir?: string; env?: NodeJS.ProcessEnv; root?: string } = {}): SetupTarget {
  const env = opts.env ?? process.env;
  const configDir = claudeConfigDir(env);
  const plugin = pluginDir(opts.root);
  const version = pluginVersion(opts.root);
  if (scope === 'user') return { scope, settingsFile: join(configDir, 'settings.json'), claudeMd: join(configDir, 'CLAUDE.md'), projectDir: null, pluginDir: plugin, version, configDir, command: 'gitbus setup claude', backups: { dir: backupsDir(configDir), label: 'settings.json' } };
  const dir = resolve(opts.dir ?? process.cwd());
  // A mistyped --dir would otherwise set up a new, wrong folder.
  if (opts.dir !== undefined && !isFolder(dir)) {
    throw new InputError(`--dir: ${dir} ${existsSync(dir) ? 'is not a folder' : 'does not exist'}`, "give --dir the project's folder (it must exist)", { flag: '--dir', value: opts.dir });
  }
  const command = `gitbus setup claude --project${opts.dir !== undefined ? ` --dir ${shellQuote(dir)}` : ''}`;
  return { scope, settingsFile: join(dir, '.claude', 'settings.json'), claudeMd: join(dir, 'CLAUDE.md'), projectDir: dir, pluginDir: plugin, version, configDir, command, backups: { dir: backupsDir(configDir), label: projectBackupLabel(dir) } };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface SetupReport {
  scope: SetupScope;
  mode: SetupMode;
  settings: {
    file: string;
    action: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';
    backup: string | null;
    /** After the command: where the gitbus marketplace points and whether the plugin is enabled. */
    state: PluginSettingsState;
  };
  claudeMd: {
    file: string;
    action: 'inserted' | 'replaced' | 'unchanged' | 'removed' | 'absent';
    /** After the command. */
    state: BlockState['state'];
    /** The version in the block's marker before the command, when there was one. */
    previousVersion: string | null;
    version: string;
    tokens: number;
  };
  plugin: {
    id: string;
    dir: string;
    /** Whether Claude Code has installed it (its ~/.claude/plugins/installed_plugins.json); it does so at the next session start after setup. */
    installedByClaude: boolean;
    /** The `gitbus` the plugin's commands and hooks run, found on PATH. */
    gitbusOnPath: string | null;
  };
  /** Everything installed and current (what --check exits on). */
  current: boolean;
  problems: string[];
  /** What makes it current, one line per kind of problem: setup itself cannot put gitbus on PATH. */
  fixes: string[];
}

/**
 * `gitbus setup claude`: the plugin for people who do not use a marketplace, and gitbus's block in CLAUDE.md.
 * The plugin is enabled through a directory marketplace in Claude Code's settings that points at this package's
 * claude-plugin/ (keys `extraKnownMarketplaces.gitbus` and `enabledPlugins["gitbus@gitbus"]`; every other key is
 * kept, and the file is backed up before it changes); Claude Code installs it at the next session start. Both
 * files are read and checked before either is written, so a malformed one stops the command with nothing changed.
 */
export function setupClaude(t: SetupTarget, mode: SetupMode, env: NodeJS.ProcessEnv = process.env): SetupReport {
  // The fix names the command as it was run: a project's setup again with --project, a removal again with --remove.
  const again = `${t.command}${mode === 'install' ? '' : ` --${mode}`}`;
  const read = readSettings(t.settingsFile, again);
  const foreign = pluginSettingsState(read.settings).foreign;
  if (mode === 'install' && foreign !== null) throw new ClaudeMarketplaceTakenError(t.settingsFile, marketplacesKey(read.settings), foreign, again);
  const record = recordFile(t.backups);
  const recorded = readRecord(record);
  const mdText = existsSync(t.claudeMd) ? readFileSync(t.claudeMd, 'utf8') : null;
  const scan = scanBlocks(mdText ?? '');
  if (!scan.ok) throw new ClaudeMdMarkersError(t.claudeMd, scan.line, scan.reason);
  const block = renderBlock(t.version, rulesText());
  const before = blockState(scan.blocks, block);
  const previousVersion = before.state === 'current' || before.state === 'outdated' || before.state === 'edited' ? before.version : before.state === 'duplicated' ? (before.versions[0] ?? null) : null;

  let settingsAction: SetupReport['settings']['action'] = read.exists ? 'unchanged' : 'absent';
  let backup: string | null = null;
  let settings = read.settings;
  let mdAction: SetupReport['claudeMd']['action'] = before.state === 'absent' ? 'absent' : 'unchanged';
  let after: BlockState = before;

  if (mode === 'install' || mode === 'remove') {
    const next = mode === 'install' ? withPlugin(settings, t.pluginDir) : withoutPlugin(settings, recorded);
    if (renderSettings(next) !== renderSettings(settings) || (mode === 'install' && !read.exists)) {
      // The first change is recorded as what was there before it; a later setup (an upgrade) keeps that record.
      if (mode === 'install' && recorded === null) writeRecord(record, t.settingsFile, settingsBefore(read.settings, read.exists));
      // Only a file setup made goes when --remove leaves it empty, as an emptied CLAUDE.md does, after the same
      // backup as any change; one the user had stays. A link (a dotfiles manager's) stays, emptied.
      if (mode === 'remove' && Object.keys(next).length === 0 && recorded?.created === true && !lstatSync(t.settingsFile).isSymbolicLink()) backup = removeWithBackup(t.settingsFile, t.backups);
      else backup = writeWithBackup(writeTarget(t.settingsFile), renderSettings(next), t.backups);
      settingsAction = mode === 'remove' ? 'removed' : read.exists ? 'updated' : 'created';
      settings = next;
    }
    if (mode === 'remove') dropRecord(record);
    const md = mdChange(mdText, scan.blocks, block, mode);
    if (md) {
      if (md.text === null) rmSync(t.claudeMd, { force: true });
      else writeKeepingMode(writeTarget(t.claudeMd), md.text);
      mdAction = md.action;
      after = mode === 'install' ? { state: 'current', version: t.version } : { state: 'absent' };
    }
  }

  const state = pluginSettingsState(settings);
  const gitbusOnPath = onPath('gitbus', env);
  const problems: string[] = [];
  if (state.foreign !== null) problems.push(`${t.settingsFile}'s "gitbus" marketplace is one of your own (${state.foreign}), which setup neither replaces nor removes`);
  else if (state.marketplacePath === null) problems.push(`${t.settingsFile} has no gitbus marketplace`);
  else if (resolve(state.marketplacePath) !== resolve(t.pluginDir)) problems.push(`${t.settingsFile} points the gitbus marketplace at ${state.marketplacePath}, not at this gitbus (${t.pluginDir})`);
  if (!state.enabled) problems.push(`${t.settingsFile} does not enable ${PLUGIN_ID}`);
  if (after.state === 'absent') problems.push(`${t.claudeMd} has no gitbus block`);
  else if (after.state === 'outdated') problems.push(`${t.claudeMd} has the gitbus block of v${after.version}, not the current one (v${t.version})`);
  else if (after.state === 'edited') problems.push(`${t.claudeMd} has the gitbus block of v${after.version} edited by hand: setup puts back its own text, and edits between the markers are lost (keep yours outside them)`);
  else if (after.state === 'duplicated') problems.push(`${t.claudeMd} has ${after.versions.length} gitbus blocks`);
  const fixes: string[] = [];
  if (state.foreign !== null) fixes.push(marketplaceTakenFix(t.settingsFile, marketplacesKey(settings), t.command));
  else if (problems.length > 0) fixes.push(t.command);
  if (gitbusOnPath === null) {
    problems.push('gitbus is not on PATH, where the plugin\'s commands and hooks look for it');
    const bin = join(dirname(t.pluginDir), 'bin', 'gitbus.js');
    fixes.push(`put gitbus on PATH: "npm link" in ${dirname(t.pluginDir)}, or "ln -s ${bin} ~/.local/bin/gitbus" with ~/.local/bin on PATH (a shell alias is not enough: Claude Code's hooks do not see it)`);
  }
  return {
    scope: t.scope,
    mode,
    settings: { file: t.settingsFile, action: settingsAction, backup, state },
    claudeMd: { file: t.claudeMd, action: mdAction, state: after.state, previousVersion, version: t.version, tokens: approxTokens(block) },
    plugin: { id: PLUGIN_ID, dir: t.pluginDir, installedByClaude: installedByClaude(t), gitbusOnPath },
    current: mode !== 'remove' && problems.length === 0,
    problems: mode === 'remove' ? [] : problems,
    fixes: mode === 'remove' ? [] : fixes,
  };
}

function mdChange(text: string | null, blocks: FoundBlock[], block: string, mode: SetupMode): { text: string | null; action: 'inserted' | 'replaced' | 'removed' } | null {
  const current = text ?? '';
  if (mode === 'install') {
    const next = upsertBlock(current, blocks, block);
    return next === current ? null : { text: next, action: blocks.length === 0 ? 'inserted' : 'replaced' };
  }
  if (blocks.length === 0) return null;
  return { text: removeBlocks(current, blocks), action: 'removed' };
}

/** A settings file or CLAUDE.md kept as a symlink (a dotfiles folder) is written where the link points. */
function writeTarget(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** The first executable `name` on PATH, as a shell would find it. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Claude Code's record of installed plugins (read only): an entry for this scope (and project). */
function installedByClaude(t: SetupTarget): boolean {
  try {
    const raw = JSON.parse(readFileSync(join(t.configDir, 'plugins', 'installed_plugins.json'), 'utf8')) as { plugins?: Record<string, unknown> };
    const entries = raw.plugins?.[PLUGIN_ID];
    if (!Array.isArray(entries)) return false;
    return entries.some((e: { scope?: unknown; projectPath?: unknown }) => (t.scope === 'user' ? e.scope === 'user' : e.scope === 'project' && typeof e.projectPath === 'string' && resolve(e.projectPath) === t.projectDir));
  } catch {
    return false;
  }
}
