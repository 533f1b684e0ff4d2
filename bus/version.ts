import { readFileSync } from 'node:fs';

/**
 * gitbus's version, from package.json: on the node card and for `gitbus --version`. A module of its own with no
 * other import, so that `--version` loads no other bus module. It sits two folders below package.json in dist/
 * (dist/bus/) and in the bundle's chunks (dist/cli/).
 */
export const GITBUS_VERSION: string = readVersion();

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Running from an unusual layout: the version is informational only.
  }
  return '0.0.0';
}
