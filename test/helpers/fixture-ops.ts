import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InitOptions, InitResult } from '../../bus/ops/init.js';
import type { JoinOptions, JoinResult } from '../../bus/ops/join.js';
import type { BusContext } from '../../bus/context.js';
import type { Handoff } from '../../schemas/handoff.js';
import { ROOT } from './cli.js';

/**
 * A test's fixtures made in its own process, through the functions behind the CLI's commands, from the build
 * (dist/, which Node loads itself: vitest.config.ts externalizes it), as test/helpers/bus.ts makeBus does for init
 * and join. For what a test is not about: each CLI process costs ~0.4-0.8 s of CPU on a loaded machine (more over
 * SSH, or under libfaketime), and the remote-transport tests made dozens of them only to set up their buses and tasks
 * (docs/PERFORMANCE.md "The test suite"). What a test is about still runs as CLI processes.
 *
 * Every function here reaches the remote the node's settings name in the test's own process: a local path (an SSH
 * or HTTP remote would need the test process's HOME and environment). A node that should then work over SSH or HTTP
 * is pointed at the same repository with `pointAt` (what a person does when a bus's repository moves).
 */
type Ops = {
  initBus: (home: string, opts: InitOptions) => Promise<InitResult>;
  joinBus: (home: string, url: string, opts: JoinOptions) => Promise<JoinResult>;
  openBus: (home: string) => Promise<BusContext>;
  dispatch: typeof import('../../bus/ops/dispatch.js').dispatch;
  claim: typeof import('../../bus/ops/claim.js').claim;
  respond: typeof import('../../bus/ops/respond.js').respond;
  archive: typeof import('../../bus/ops/archive.js').archive;
  loadNodeConfig: typeof import('../../bus/home.js').loadNodeConfig;
  saveNodeConfig: typeof import('../../bus/home.js').saveNodeConfig;
};

let loaded: Promise<Ops> | undefined;
function ops(): Promise<Ops> {
  const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href) as Promise<Record<string, unknown>>;
  const load = async (): Promise<Ops> => {
    const [init, join_, context, dispatch, claim, respond, archive, home] = await Promise.all(
      ['bus/ops/init.js', 'bus/ops/join.js', 'bus/context.js', 'bus/ops/dispatch.js', 'bus/ops/claim.js', 'bus/ops/respond.js', 'bus/ops/archive.js', 'bus/home.js'].map(dist),
    );
    return { ...init, ...join_, ...context, ...dispatch, ...claim, ...respond, ...archive, ...home } as unknown as Ops;
  };
  return (loaded ??= load());
}

function failed(what: string): (err: unknown) => never {
  return (err) => {
    throw new Error(`${what} failed: ${(err as Error).message}`);
  };
}

export type InitNodeOptions = Omit<InitOptions, 'remote'>;

/** `gitbus init --remote REMOTE` for `home`; `now` dates its settings, first commit and node card (a skewed clock). */
export async function initNode(home: string, remote: string, opts: InitNodeOptions = {}): Promise<InitResult> {
  return (await ops()).initBus(home, { ...opts, remote }).catch(failed(`init ${opts.node ?? ''}`));
}

/** `gitbus join REMOTE` for `home`, as the CLI joins without --trust when no terminal can ask. */
export async function joinNode(home: string, remote: string, opts: JoinOptions = {}): Promise<JoinResult> {
  return (await ops()).joinBus(home, remote, { trust: {}, ...opts }).catch(failed(`join ${opts.node ?? ''}`));
}

/** Points a node at its bus's repository by another way to reach it (an SSH alias or URL, an http:// URL). */
export async function pointAt(home: string, remote: string): Promise<void> {
  const o = await ops();
  await o.saveNodeConfig(home, { ...(await o.loadNodeConfig(home)), remote });
}

async function withBus<T>(home: string, what: string, body: (o: Ops, ctx: BusContext) => Promise<T>): Promise<T> {
  const o = await ops();
  const ctx = await o.openBus(home).catch(failed(what));
  try {
    return await body(o, ctx).catch(failed(what));
  } finally {
    await ctx.repo.close();
  }
}

/** Dispatches tasks from `home` in one process (one commit each, as `gitbus dispatch --no-git` makes); their ids. */
export async function dispatchTasks(home: string, tasks: (Omit<Handoff, 'id' | 'from' | 'created'> & { id?: string })[]): Promise<string[]> {
  return withBus(home, 'dispatch', async (o, ctx) => {
    const ids: string[] = [];
    for (const { id, ...handoff } of tasks) {
      const r = await o.dispatch(ctx, { handoff, body: `## Task\n\n${handoff.title}\n`, ...(id ? { id } : {}) });
      if (r.queued) throw new Error(`the task was queued, not delivered: ${r.queued.reason}`);
      ids.push(r.id);
    }
    return ids;
  });
}

/** One task dispatched from `home` (dispatchTasks): its id. */
export async function dispatchTask(home: string, task: Parameters<typeof dispatchTasks>[1][number]): Promise<string> {
  const [id] = await dispatchTasks(home, [task]);
  if (id === undefined) throw new Error('no task dispatched');
  return id;
}

/** A task dispatched, claimed and answered `succeeded` by `home`'s node, and then archived (`archive --all`): its id. */
export async function archivedTask(home: string, title: string): Promise<string> {
  const id = await dispatchTask(home, { title, command: 'true' });
  return withBus(home, 'claim, respond and archive', async (o, ctx) => {
    await o.claim(ctx, { id });
    await o.respond(ctx, { id, status: 'succeeded' });
    const a = await o.archive(ctx, { all: true });
    if (!a.archived.includes(id)) throw new Error(`${id} was not archived: ${JSON.stringify(a)}`);
    return id;
  });
}
