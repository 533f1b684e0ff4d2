import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BusStatus } from '../../bus/ops/status.js';
import type { ShownTask } from '../../bus/ops/query.js';
import { ROOT } from './cli.js';

/**
 * What a node sees of the bus, read in the test's own process through the functions `gitbus show` and `gitbus
 * status` call (bus/ops/query.ts, status.ts): for the polls a test makes while it waits for a watcher, whose every
 * round was a CLI process (~0.2-0.4 s of CPU on a loaded machine, and the suite is CPU-bound). What a test is
 * about still runs as a CLI process: use these only to wait, then assert through the CLI where its output matters.
 *
 * `showJson(home, id)` is `json(await gitbus(['show', id, '--json'], { home }))` without the process. Like the
 * CLI they sync the node's clone first; unlike it they do not deliver the node's queued writes (the
 * outbox), which only the node's own commands should send. The build's modules are loaded by Node itself, as in
 * test/helpers/bus.ts (vitest.config.ts externalizes dist/).
 */
export async function showJson<T = ShownTask>(home: string, id: string): Promise<T> {
  const { openBus, showTask } = await ops();
  const ctx = await openBus(home);
  try {
    return asJson<T>(await showTask(ctx, id));
  } finally {
    await ctx.repo.close();
  }
}

/** `json(await gitbus(['status', '--json'], { home }))`, in this process. */
export async function statusJson<T = BusStatus>(home: string): Promise<T> {
  const { openBus, busStatus } = await ops();
  const ctx = await openBus(home);
  try {
    return asJson<T>(await busStatus(ctx));
  } finally {
    await ctx.repo.close();
  }
}

/** What `--json` prints of a value (cli/output.ts emit), parsed back: the same shape a test reads from the CLI. */
function asJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

interface Ops {
  openBus: typeof import('../../bus/context.js').openBus;
  showTask: typeof import('../../bus/ops/query.js').showTask;
  busStatus: typeof import('../../bus/ops/status.js').busStatus;
}
let loaded: Promise<Ops> | undefined;
function ops(): Promise<Ops> {
  const load = async (): Promise<Ops> => {
    const from = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
    const [context, query, status] = await Promise.all([from('bus/context.js'), from('bus/ops/query.js'), from('bus/ops/status.js')]);
    return { openBus: (context as Ops).openBus, showTask: (query as Ops).showTask, busStatus: (status as Ops).busStatus };
  };
  return (loaded ??= load());
}
