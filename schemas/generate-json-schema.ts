// The one file in schemas/ that touches the file system: it writes the generated JSON Schemas into the source
// tree, where they are committed and shipped (package.json "files").
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jsonSchemaFiles } from './json-schema.js';

/** The package root: the nearest folder above this script with a package.json (works from dist/ and from source). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('generate-json-schema: no package.json above this script');
    dir = up;
  }
  return dir;
}

export const DEFAULT_OUT_DIR = (): string => join(packageRoot(), 'schemas', 'json');

/** Writes every schema file; returns the names of the files whose content changed. */
export function writeJsonSchemas(outDir: string = DEFAULT_OUT_DIR()): string[] {
  mkdirSync(outDir, { recursive: true });
  const changed: string[] = [];
  for (const [name, text] of jsonSchemaFiles()) {
    const file = join(outDir, name);
    if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
    writeFileSync(file, text);
    changed.push(name);
  }
  return changed;
}

/** Names of files in `outDir` that differ from, are missing from, or are not among the generated ones. */
export function staleJsonSchemas(outDir: string = DEFAULT_OUT_DIR()): string[] {
  const files = jsonSchemaFiles();
  const stale = [...files].filter(([name, text]) => !existsSync(join(outDir, name)) || readFileSync(join(outDir, name), 'utf8') !== text).map(([name]) => name);
  const extra = existsSync(outDir) ? readdirSync(outDir).filter((name) => name.endsWith('.schema.json') && !files.has(name)) : [];
  return [...stale, ...extra];
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const outDir = resolve(argv.find((a) => !a.startsWith('--')) ?? DEFAULT_OUT_DIR());
  if (check) {
    const stale = staleJsonSchemas(outDir);
    if (stale.length > 0) {
      console.error(`stale JSON Schemas in ${outDir}: ${stale.join(', ')}\n  fix: run npm run schemas`);
      return 1;
    }
    return 0;
  }
  const changed = writeJsonSchemas(outDir);
  console.log(changed.length > 0 ? `wrote ${changed.join(', ')} to ${outDir}` : `JSON Schemas in ${outDir} are up to date`);
  return 0;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = main(process.argv.slice(2));
}
