import { readFileSync } from 'node:fs';

/**
 * gitbus's version for `gitbus --version`, read from package.json as bus/node-card.ts reads it for the node card.
 * Read here rather than imported from there so that `--version` loads no bus module at all (node-card pulls in
 * the node policy, the trust keys and the schemas); test/unit/command-table.test.ts checks that both agree.
 * Both modules sit two folders below package.json, in dist/ and in the bundle (dist/cli/).
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
