import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../claude/plugin-files.js';
import { UiAssetsMissingError } from './errors.js';
import { assetType } from './routes.js';

/** A static file of the page, read once when the server starts (they are a few kilobytes). */
export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * web/assets/ of this package: the HTML shell, the style sheet and the page's script modules. They ship as files
 * (package.json "files"), found from this module's place as the Claude Code plugin's are, whether it runs from
 * dist/web/ (tsc) or dist/cli/ (the bundle).
 */
export function assetsDir(root: string = packageRoot()): string {
  const dir = join(root, 'web', 'assets');
  if (!existsSync(join(dir, 'index.html'))) throw new UiAssetsMissingError(dir);
  return dir;
}

export function loadAssets(dir: string = assetsDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    assets.set(entry.name, { type: assetType(entry.name), body: readFileSync(join(dir, entry.name)) });
  }
  return assets;
}
