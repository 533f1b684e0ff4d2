import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { sourceFiles } from '../helpers/source-files.js';

/**
 * What every bus command's start would pay again if a module of the lower layers wrote it (issue 14; docs/PERFORMANCE.md
 * "Start-up: one copy of node:fs, node:crypto on first use" and "Start-up: Node's own modules a short command does
 * not use"): a value imported from node:crypto loads it with the module (schemas/node-crypto.ts loads it on first
 * use), each `import * as fs` becomes a copy of fs's ~100 properties in the CLI bundle (bus/node-fs.ts holds the one
 * namespace), node:fs/promises (or fs.promises) loads readline's interface and the fs watchers (bus/node-fs-async.ts
 * has the functions from node:fs's callbacks), and performance.now() loads perf_hooks (bus/monotonic.ts).
 */
describe('start-up imports of schemas/, bus/, watcher/ and cli/', () => {
  const files = ['schemas', 'bus', 'watcher', 'cli'].flatMap((d) => sourceFiles(join(ROOT, d)));

  it('import node:crypto for types only and node:fs as a namespace only in bus/node-fs.ts', () => {
    const bad: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      if (!rel.startsWith('schemas') && !rel.startsWith('bus')) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s+(type\s+)?([^;]*?)\s+from\s+'node:(crypto|fs)';$/gm)) {
        const [, typeOnly, what, mod] = m;
        if (mod === 'crypto' && !typeOnly) bad.push(`${rel}: imports node:crypto values (${what}); use nodeCrypto() from schemas/node-crypto.ts`);
        if (mod === 'fs' && !typeOnly && what?.startsWith('* as') && rel !== join('bus', 'node-fs.ts')) bad.push(`${rel}: imports node:fs as a namespace; import { fs } from bus/node-fs.ts`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('take file promises from bus/node-fs-async.ts and monotonic time from bus/monotonic.ts', () => {
    const bad: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      const text = readFileSync(file, 'utf8');
      const code = text.replace(/^import\s+type\b[^;]*;$/gm, '');
      if (/['"](node:)?fs\/promises['"]/.test(code) && rel !== join('bus', 'node-fs-async.ts')) bad.push(`${rel}: loads node:fs/promises; import the function from bus/node-fs-async.ts`);
      if (/\bpromises\b[^;\n]*from\s+'node:fs'|\bfs\.promises\b/.test(text)) bad.push(`${rel}: uses fs.promises; import the function from bus/node-fs-async.ts`);
      if (/\bperformance\.now\(\)/.test(text.replace(/^\s*(\/\/|\*).*$/gm, ''))) bad.push(`${rel}: calls performance.now(); use monotonicMs() from bus/monotonic.ts`);
    }
    expect(bad).toEqual([]);
  });

  it('make no TextEncoder or TextDecoder when a module loads (~3 ms of a start for the first one)', () => {
    const bad: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      const text = readFileSync(file, 'utf8');
      // A top-level statement: at the start of a line, not inside a function's body.
      for (const m of text.matchAll(/^(?:export\s+)?(?:const|let|var)\s+\w+\s*=\s*new\s+Text(?:En|De)coder\b/gm)) bad.push(`${rel}: ${m[0]}; make it on first use`);
    }
    expect(bad).toEqual([]);
  });
});
