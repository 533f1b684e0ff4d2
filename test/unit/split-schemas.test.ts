import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Plan {
  set: Set<string>;
  libs: string[];
}

/**
 * scripts/split-schemas.mjs's choice of the schemas script's modules, from a compiled tree: only modules of the
 * build count, not what tsc left in dist/ from sources since renamed or deleted (it never removes its output).
 */
describe('the schemas script\'s modules (scripts/split-schemas.mjs splitPlan)', () => {
  let tmp: string;
  let splitPlan: (dist: string) => Plan;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), text);
  };
  /** A module of the build: its source and its compiled file. */
  const mod = (path: string, js: string) => {
    write(path, '// source\n');
    write(join('dist', path.replace(/\.ts$/, '.js')), js);
  };

  beforeAll(async () => {
    // A variable specifier: the script is plain JavaScript, without types.
    const script = join(ROOT, 'scripts', 'split-schemas.mjs');
    ({ splitPlan } = (await import(script)) as { splitPlan: (dist: string) => Plan });
    tmp = mkdtempSync(join(tmpdir(), 'gitbus-split-schemas-'));
    mod('schemas/zod.ts', "import { z } from 'zod/mini';\nexport { z };\n");
    mod('schemas/handoff.ts', "import { z } from './zod.js';\nimport { ID_RE } from './ids.js';\nexport const handoffSchema = z.string().check(z.regex(ID_RE));\n");
    mod('schemas/ids.ts', 'export const ID_RE = /^a$/;\n');
    mod('bus/read.ts', "import { handoffSchema } from '../schemas/handoff.js';\nexport const read = (s) => handoffSchema.parse(s);\n");
    // Left by an earlier build: their sources are gone.
    write('dist/schemas/renamed.js', "import { z } from './zod.js';\nimport { gone } from './gone.js';\nexport const old = z.string().check(gone);\n");
    write('dist/bus/old-yaml.js', "import { parse } from 'yaml';\nexport const old = parse;\n");
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the modules of schemas/ that import zod and those that import them, and nothing a build left behind', () => {
    const dist = relative(process.cwd(), join(tmp, 'dist'));
    const plan = splitPlan(dist);
    expect([...plan.set].sort()).toEqual([join(dist, 'schemas/handoff.js'), join(dist, 'schemas/zod.js')]);
    expect(plan.libs).toEqual([]);
  });
});
