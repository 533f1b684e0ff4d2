import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BusStatus } from '../../bus/ops/status.js';
import type { ShownTask } from '../../bus/ops/query.js';
import type { RespondInput } from '../../bus/ops/respond.js';
import type { BusContext } from '../../bus/context.js';
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
  return withBus(home, async (ctx, o) => asJson<T>(await o.showTask(ctx, id)));
}

/** `json(await gitbus(['status', '--json'], { home }))`, in this process. */
export async function statusJson<T = BusStatus>(home: string): Promise<T> {
  return withBus(home, async (ctx, o) => asJson<T>(await o.busStatus(ctx)));
}

/** `json(await gitbus(['trust', 'list', '--json'], { home }))`, in this process (bus/trust/view.ts trustList). */
export async function trustListJson<T = Record<string, unknown>>(home: string): Promise<T> {
  return withBus(home, async (ctx, o) => asJson<T>(await o.trustList(ctx)));
}

/**
 * The worker's side of a task as a fixture: `gitbus claim ID` and then `gitbus respond ID --status ... --summary
 * ...` by `home`'s node, in this process, through the functions those commands call (bus/ops/claim.ts,
 * respond.ts), for tests about what the dispatching side hears of it (hooks, collect, waits), not about claiming
 * or responding. Like the CLI, respond without a summary or results takes the status as the summary.
 */
export async function claimAndRespond(home: string, id: string, answer: Omit<RespondInput, 'id'>): Promise<void> {
  await withBus(home, async (ctx, o) => {
    await o.claim(ctx, { id });
    await o.respond(ctx, { ...answer, id, ...(answer.summary === undefined && answer.results === undefined ? { summary: answer.status } : {}) });
  });
}

/** `gitbus claim ID` by `home`'s node, in this process (a fixture: the task held by that node). */
export async function claimTask(home: string, id: string): Promise<void> {
  await withBus(home, async (ctx, o) => {
    await o.claim(ctx, { id });
  });
}

/** `gitbus respond ID ...` by `home`'s node, in this process (a fixture: see claimAndRespond). */
export async function respondTask(home: string, id: string, answer: Omit<RespondInput, 'id'>): Promise<void> {
  await withBus(home, async (ctx, o) => {
    await o.respond(ctx, { ...answer, id, ...(answer.summary === undefined && answer.results === undefined ? { summary: answer.status } : {}) });
  });
}

/** Runs `body` on `home`'s bus as a command does (bus/context.ts openBus), closing the repository after. */
async function withBus<T>(home: string, body: (ctx: BusContext, o: Ops) => Promise<T>): Promise<T> {
  const o = await ops();
  const ctx = await o.openBus(home);
  try {
    return await body(ctx, o);
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
  claim: typeof import('../../bus/ops/claim.js').claim;
  respond: typeof import('../../bus/ops/respond.js').respond;
  trustList: typeof import('../../bus/trust/view.js').trustList;
}
let loaded: Promise<Ops> | undefined;
function ops(): Promise<Ops> {
  const load = async (): Promise<Ops> => {
    const from = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
    const [context, query, status, claim, respond, view] = await Promise.all([from('bus/context.js'), from('bus/ops/query.js'), from('bus/ops/status.js'), from('bus/ops/claim.js'), from('bus/ops/respond.js'), from('bus/trust/view.js')]);
    return { openBus: (context as Ops).openBus, showTask: (query as Ops).showTask, busStatus: (status as Ops).busStatus, claim: (claim as Ops).claim, respond: (respond as Ops).respond, trustList: (view as Ops).trustList };
  };
  return (loaded ??= load());
}
