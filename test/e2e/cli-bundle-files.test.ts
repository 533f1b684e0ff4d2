import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, ROOT } from '../helpers/cli.js';

/** What the build wrote into dist/cli/: the files every command starts from (scripts/bundle.mjs). */
describe('CLI bundle', () => {
  it('holds no absolute path of the folder it was built in, so its code cache key is the same wherever it is built', () => {
    const buildDir = ROOT.replace(/\/$/, '');
    for (const f of ['gitbus.cjs', 'gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs', 'gitbus-schemas.cjs', 'gitbus-loader.cjs', 'gitbus-boot.cjs', 'gitbus.mjs']) expect(readFileSync(join(dirname(CLI), f), 'utf8').includes(buildDir), f).toBe(false);
  });

  it("holds the boot's code cache for this Node, made from the boot's text as built (scripts/boot-cache.mjs)", () => {
    const cliDir = dirname(CLI);
    const boot = readFileSync(join(cliDir, 'gitbus-boot.cjs'));
    const cache = readFileSync(join(cliDir, `gitbus-boot-${process.version}-${process.arch}.v8`));
    expect(cache.subarray(0, boot.length).equals(boot)).toBe(true);
    // The text, the cache twice (bin/gitbus.js compares the copies), each from an 8-byte boundary, the two lengths.
    const end = cache.length - 'gitbus-boot-cache'.length - 8;
    expect(cache.readUInt32LE(end)).toBe(boot.length);
    const first = Math.ceil(boot.length / 8) * 8;
    const length = cache.readUInt32LE(end + 4);
    expect(first + 2 * Math.ceil(length / 8) * 8).toBe(end);
    expect(cache.subarray(first, first + length).equals(cache.subarray(end - Math.ceil(length / 8) * 8, end - Math.ceil(length / 8) * 8 + length))).toBe(true);
    expect(cache.toString('latin1', cache.length - 'gitbus-boot-cache'.length)).toBe('gitbus-boot-cache');
    // Only this Node's: a build leaves none of another's.
    expect(readdirSync(cliDir).filter((f) => f.endsWith('.v8'))).toEqual([`gitbus-boot-${process.version}-${process.arch}.v8`]);
  });

  it('every file of dist/cli/ is pure ASCII (V8 scans anything else as UTF-16)', () => {
    const cliDir = dirname(CLI);
    const files = readdirSync(cliDir).filter((f) => f.endsWith('.mjs') || f.endsWith('.cjs'));
    expect(files).toEqual(expect.arrayContaining(['gitbus.mjs', 'gitbus.cjs', 'gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs', 'gitbus-schemas.cjs', 'gitbus-loader.cjs', 'gitbus-boot.cjs']));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const bytes = readFileSync(join(cliDir, f));
      const at = bytes.findIndex((b) => b > 0x7f);
      expect(at, `${f}: byte ${at} is not ASCII: ${bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8')}`).toBe(-1);
    }
  });

  it('a bundle copies each module it takes as CommonJS once, not once per module that imports it, and holds one stand-in for the commands it does not hold', () => {
    // esbuild's __toESM copies a CommonJS module's values, as getters, into a new object: for the schemas stubs of
    // the split bundles it did so for each importer (ten copies of the bus-file stub in gitbus-dispatch.cjs), and for
    // `import * as fs from 'node:fs'` once per importer; each copy is allocated at every start (docs/PERFORMANCE.md
    // "Fewer scavenges and page faults").
    const cliDir = dirname(CLI);
    for (const f of ['gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs']) {
      const text = readFileSync(join(cliDir, f), 'latin1');
      const copies = new Map<string, number>();
      for (const m of text.matchAll(/__toESM\((require_[A-Za-z0-9_$]+\(\)|require\("[^"]+"\))/g)) copies.set(m[1] as string, (copies.get(m[1] as string) ?? 0) + 1);
      expect(copies.size, f).toBeGreaterThan(0);
      for (const [what, n] of copies) expect(n, `${f}: __toESM(${what}) ${n} times`).toBe(1);
      expect(copies.has('require("node:fs")'), `${f} copies node:fs`).toBe(false);
      expect([...text.matchAll(/"other-bundle:[^"]*"/g)].length, `${f}: stand-ins for other bundles' commands`).toBe(1);
      // In a split bundle a module of the schemas script is an external its importers require by name, which the
      // loader answers with one stub (cli/schemas-script.ts): no stub module and no copy in the bundle.
      if (f !== 'gitbus-bus.cjs') {
        expect(text, f).toMatch(/require\("gitbus:schemas:dist\/schemas\/bus-file\.js"\)/);
        expect(text, f).not.toMatch(/require_bus_file|__toESM\(require\("gitbus:schemas:/);
      }
    }
  });

  it("takes gitbus's version and its require from the build and the bundle, and makes no file URL as it starts", () => {
    // What every start paid before (docs/PERFORMANCE.md "The loader's and the bundle's own start"): package.json read
    // and parsed for the version, node:module's public module and a createRequire per module that loads something
    // on first use, and pathToFileURL for import.meta.url.
    const cliDir = dirname(CLI);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const f of ['gitbus.cjs', 'gitbus-bus.cjs', 'gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs', 'gitbus-loader.cjs', 'gitbus-boot.cjs']) {
      const text = readFileSync(join(cliDir, f), 'latin1');
      // (The loader holds none: the boot prints `gitbus --version`.)
      if (f !== 'gitbus-loader.cjs') expect(text, f).toContain(`GITBUS_VERSION=${JSON.stringify(version)}`);
      expect(text, f).not.toMatch(/readVersion/);
      expect(text, f).toMatch(/ownRequire=require\b/);
      expect(text, f).not.toMatch(/createRequire\)\(__gitbusImportMeta|__gitbusImportMetaUrl/);
      // import.meta.url is made on first read only: its one pathToFileURL is inside the getter.
      expect(text.match(/pathToFileURL/g)?.length ?? 0, f).toBeLessThanOrEqual(f === 'gitbus-loader.cjs' ? 2 : 1);
      expect(text, f).toMatch(/get url\(\)\{url\?\?=require\("node:url"\)\.pathToFileURL/);
    }
  });
});
