import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The TypeScript files under `dir`, recursively, leaving out generated `json/` folders: for tests that read the sources. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'json' ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}
