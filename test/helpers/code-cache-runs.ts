import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT, gitbus, spawnBounded, type RunResult } from './cli.js';
import type { CodeCacheReport } from '../../cli/code-cache.js';
import { bundleFiles } from '../../cli/bundle-identity.js';

/** The boot's code cache the build made for this Node (scripts/boot-cache.mjs), which bin/gitbus.js reads. */
export const BOOT_CACHE_FILE = `dist/cli/gitbus-boot-${process.version}-${process.arch}.v8`;

/** The files of the package a command runs from: the bin script, the boot and its cache, the bundles, the schemas script and the loader. */
export const RUNNABLE_FILES = ['package.json', 'bin/gitbus.js', 'bin/package.json', 'dist/cli/gitbus-boot.cjs', BOOT_CACHE_FILE, ...bundleFiles().map((f) => `dist/cli/${f}`)];

/**
 * Runs of the CLI as processes that report what the loader did (GITBUS_CODE_CACHE_REPORT, cli/code-cache.ts), in
 * `dir`, with `home` as the bus home unless a package copy's bin runs.
 */
export function codeCacheRuns(dir: () => string, home: () => string) {
  let runs = 0;
  const spawnBin = (bin: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> => spawnBounded(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, input, timeoutMs: 60_000 });
  return {
    /** Runs the CLI with its code cache in `cache` ($XDG_CACHE_HOME); returns its result and what the loader did. */
    async run(args: string[], cache: string, opts: { bin?: string; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<{ r: RunResult; report: CodeCacheReport }> {
      const reportFile = join(dir(), `report-${runs++}.jsonl`);
      // Without the Node options the tests themselves run under, unless a test gives some: a V8 flag there makes V8
      // refuse the boot's cache the build made and puts each command's cache in a file of those options' own.
      const env = { XDG_CACHE_HOME: cache, GITBUS_CODE_CACHE_REPORT: reportFile, NODE_OPTIONS: '', ...opts.env };
      const r = opts.bin ? await spawnBin(opts.bin, args, env, opts.input) : await gitbus(args, { home: home(), env, ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) });
      const lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      return { r, report: JSON.parse(lines[0] as string) as CodeCacheReport };
    },
    /** A copy of the package's runnable part, its node_modules linked; returns its bin/gitbus.js and dist/cli/. */
    packageCopy(name: string): { bin: string; cli: string } {
      const pkg = join(dir(), name);
      mkdirSync(join(pkg, 'bin'), { recursive: true });
      mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
      for (const f of RUNNABLE_FILES) copyFileSync(join(ROOT, f), join(pkg, f));
      symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
      return { bin: join(pkg, 'bin', 'gitbus.js'), cli: join(pkg, 'dist', 'cli') };
    },
  };
}

/**
 * Damages `file` of a package copy each way of `cases` in turn ([what, damage, why]) and runs `status` from the copy's
 * `bin` under each of `envs`: each run must say that the file is damaged, why, and how to fix it, exit 7 and print no
 * stack (a damaged installation, not a bug).
 */
export async function expectDamagedInstall(bin: string, file: string, home: string, cache: string, cases: Array<[string, () => void, string]>, envs: NodeJS.ProcessEnv[] = [{}]): Promise<void> {
  const name = file.split(/[\\/]/).pop() as string;
  for (const [what, damage, why] of cases) {
    damage();
    for (const env of envs) {
      const r = await spawnBounded(process.execPath, [bin, 'status', '--json', '--home', home], { env: { ...process.env, XDG_CACHE_HOME: cache, ...env }, timeoutMs: 60_000 });
      expect(r.code, `${what}: ${r.stderr}`).toBe(7);
      expect(r.stdout).toBe('');
      expect(r.stderr, what).toContain(`${name} is damaged: ${why}`);
      expect(r.stderr, what).toContain('fix: install gitbus again');
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
    }
  }
}
