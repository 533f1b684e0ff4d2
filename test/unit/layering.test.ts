import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { sourceFiles } from '../helpers/source-files.js';

const LAYERS = ['schemas', 'bus', 'hooks', 'watcher', 'claude', 'mcp', 'web', 'cli'] as const;

/** schemas <- bus <- hooks <- watcher <- claude <- mcp <- web <- cli: a layer imports only from layers before it (docs/ARCHITECTURE.md). */
describe('import direction', () => {
  it('no layer imports from a later one, and schemas/ does no I/O', () => {
    const bad: string[] = [];
    for (const [i, layer] of LAYERS.entries()) {
      const later = LAYERS.slice(i + 1);
      for (const file of sourceFiles(join(ROOT, layer))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/from\s+'([^']+)'/g)) {
          const spec = m[1] ?? '';
          if (!spec.startsWith('.')) {
            if (layer === 'schemas' && /^node:(fs|child_process|net|http|os)/.test(spec) && !file.endsWith('generate-json-schema.ts')) bad.push(`${relative(ROOT, file)} does I/O (${spec})`);
            continue;
          }
          const target = relative(ROOT, join(file, '..', spec)).split('/')[0];
          if (later.includes(target as (typeof LAYERS)[number])) bad.push(`${relative(ROOT, file)} imports ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
