import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { sourceFiles } from '../helpers/source-files.js';

/**
 * What every bus command's start would pay again if a module of the lower layers wrote it (issue 14; docs/PERFORMANCE.md
 * "Start-up: one copy of node:fs, node:crypto on first use"): a value imported from node:crypto loads it with the
 * module (schemas/node-crypto.ts loads it on first use), and each `import * as fs` becomes a copy of fs's ~100
 * properties in the CLI bundle (bus/node-fs.ts holds the one namespace).
 */
describe('start-up imports of schemas/ and bus/', () => {
  it('import node:crypto for types only and node:fs as a namespace only in bus/node-fs.ts', () => {
    const bad: string[] = [];
    for (const file of ['schemas', 'bus'].flatMap((d) => sourceFiles(join(ROOT, d)))) {
      const rel = relative(ROOT, file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s+(type\s+)?([^;]*?)\s+from\s+'node:(crypto|fs)';$/gm)) {
        const [, typeOnly, what, mod] = m;
        if (mod === 'crypto' && !typeOnly) bad.push(`${rel}: imports node:crypto values (${what}); use nodeCrypto() from schemas/node-crypto.ts`);
        if (mod === 'fs' && !typeOnly && what?.startsWith('* as') && rel !== join('bus', 'node-fs.ts')) bad.push(`${rel}: imports node:fs as a namespace; import { fs } from bus/node-fs.ts`);
      }
    }
    expect(bad).toEqual([]);
  });
});
