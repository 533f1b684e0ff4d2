import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from '../bus/user-home-dir.js';
import { dirname, join } from 'node:path';
import { ClaudePluginMissingError } from './errors.js';

/** The plugin's name, its marketplace's name and the id Claude Code's settings use for it (`plugin@marketplace`). */
export const PLUGIN_NAME = 'gitbus';
export const MARKETPLACE_NAME = 'gitbus';
export const PLUGIN_ID = `${PLUGIN_NAME}@${MARKETPLACE_NAME}`;

/**
 * The gitbus package this code belongs to: the folder above this module (dist/claude/ after tsc, dist/cli/ in
 * the bundle) whose package.json is gitbus's. Assets ship as files in it (package.json "files"), not as strings.
 */
export function packageRoot(from: string = import.meta.filename): string {
  let dir = dirname(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'gitbus') return realpathSync(dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new ClaudePluginMissingError(join(dirname(from), 'claude-plugin'));
    dir = up;
  }
}

/** claude-plugin/ of this package: the plugin, and the directory marketplace that lists it. */
export function pluginDir(root: string = packageRoot()): string {
  const dir = join(root, 'claude-plugin');
  if (!existsSync(join(dir, '.claude-plugin', 'plugin.json'))) throw new ClaudePluginMissingError(dir);
  return dir;
}

export type AssetName = 'primer.md' | 'claude-md.md';

/** A text the CLI prints or writes (the primer, the CLAUDE.md block), kept as a file in claude-plugin/assets/. */
export function readAsset(name: AssetName, root?: string): string {
  return readFileSync(join(pluginDir(root), 'assets', name), 'utf8');
}

/** The plugin's version (its manifest's), which setup writes into the CLAUDE.md marker. */
export function pluginVersion(root?: string): string {
  const manifest = JSON.parse(readFileSync(join(pluginDir(root), '.claude-plugin', 'plugin.json'), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

/** Claude Code's own folder: $CLAUDE_CONFIG_DIR, else ~/.claude (user settings.json and CLAUDE.md live there). */
export function claudeConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env['CLAUDE_CONFIG_DIR'];
  return set && set.length > 0 ? set : join(homedir(), '.claude');
}
