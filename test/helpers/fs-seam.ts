import { createRequire, syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import type { PathLike } from 'node:fs';

const load = createRequire(import.meta.url);
const nodeFs = load('node:fs') as typeof import('node:fs');
const nodeFsp = load('node:fs/promises') as typeof import('node:fs/promises');

/**
 * Runs `run` with node:fs's `name` wrapped so that its `nth` call on `path` (absolute) first runs `before`, the
 * change another process would make just then, and fails with the error `before` returns, if any (what the call
 * would meet there: EACCES); how many times that was (1 or 0), so that a test whose window was never reached fails
 * rather than passes for nothing. gitbus takes these from node:fs's namespace, which
 * syncBuiltinESMExports brings in line with the module's (writable) exports, and back again.
 */
export async function onCall<T>(name: 'lstat' | 'readdir', path: string, before: () => NodeJS.ErrnoException | void, run: () => Promise<T>, nth = 1): Promise<{ result: T; hits: number }> {
  const real = nodeFs[name];
  let calls = 0;
  let hits = 0;
  const wrapped = (p: PathLike, ...rest: unknown[]): void => {
    if (resolve(String(p)) === path && ++calls === nth) {
      hits++;
      const err = before();
      if (err) {
        const done = rest.pop() as (err: NodeJS.ErrnoException) => void;
        process.nextTick(done, err);
        return;
      }
    }
    (real as (...args: unknown[]) => void)(p, ...rest);
  };
  (nodeFs as Record<typeof name, unknown>)[name] = wrapped;
  syncBuiltinESMExports();
  try {
    return { result: await run(), hits };
  } finally {
    (nodeFs as Record<typeof name, unknown>)[name] = real;
    syncBuiltinESMExports();
  }
}

/**
 * Runs `run` with node:fs/promises's open (which gitbus loads at each call: bus/node-fs-async.ts) wrapped so that its
 * `nth` call on `path` (absolute) first runs `before` (failing with the error it returns, if any, as onCall), and
 * `after` once it has opened, before its caller goes on.
 */
export async function onOpen<T>(path: string, before: () => NodeJS.ErrnoException | void, run: () => Promise<T>, opts: { nth?: number; after?: () => void } = {}): Promise<{ result: T; hits: number }> {
  const real = nodeFsp.open;
  let calls = 0;
  let hits = 0;
  nodeFsp.open = (async (p: PathLike, ...rest: unknown[]) => {
    if (resolve(String(p)) !== path || ++calls !== (opts.nth ?? 1)) return (real as (...args: unknown[]) => unknown)(p, ...rest);
    hits++;
    const err = before();
    if (err) throw err;
    const fh = await (real as (...args: unknown[]) => Promise<unknown>)(p, ...rest);
    opts.after?.();
    return fh;
  }) as typeof nodeFsp.open;
  try {
    return { result: await run(), hits };
  } finally {
    nodeFsp.open = real;
  }
}
