import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BusContext } from '../../bus/context.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { InitOptions } from '../../bus/ops/init.js';
import type { JoinOptions } from '../../bus/ops/join.js';
import type { RespondInput } from '../../bus/ops/respond.js';
import { gitbus, json, ROOT } from './cli.js';

/**
 * Fixture operations in the test's own process, through the functions the CLI's commands call, from the build
 * (dist/, which Node loads itself: vitest.config.ts externalizes it), as test/helpers/bus.ts does for init and join.
 *
 * For what a test sets up or reads back, not for what it is about: a CLI process costs ~0.3-0.7 s of CPU on a
 * loaded machine (docs/PERFORMANCE.md "The test suite"), and a dispatch made to give a watcher work is one of
 * hundreds in the suite. The CLI's own dispatch is tested as a command elsewhere (cli-lifecycle, say-no-early, ...).
 */

type Ops = {
  openBus: typeof import('../../bus/context.js').openBus;
  dispatch: typeof import('../../bus/ops/dispatch.js').dispatch;
  dispatchTargetProblem: typeof import('../../bus/ops/dispatch-target.js').dispatchTargetProblem;
  handoffBody: typeof import('../../bus/ops/handoff-body.js').handoffBody;
  commandSigner: typeof import('../../bus/trust/dispatch-signing.js').commandSigner;
  showTask: typeof import('../../bus/ops/query.js').showTask;
  listQueue: typeof import('../../bus/queue.js').listQueue;
  busStatus: typeof import('../../bus/ops/status.js').busStatus;
  claim: typeof import('../../bus/ops/claim.js').claim;
  cancel: typeof import('../../bus/ops/cancel.js').cancel;
  respond: typeof import('../../bus/ops/respond.js').respond;
  trustList: typeof import('../../bus/trust/view.js').trustList;
  initBus: typeof import('../../bus/ops/init.js').initBus;
  joinBus: typeof import('../../bus/ops/join.js').joinBus;
};
let loaded: Promise<Ops> | undefined;
function ops(): Promise<Ops> {
  const load = async (): Promise<Ops> => {
    const from = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
    const [context, dispatch, target, body, signing, query, queue, status, claim, cancel, respond, view, init, join_] = (await Promise.all([
      from('bus/context.js'),
      from('bus/ops/dispatch.js'),
      from('bus/ops/dispatch-target.js'),
      from('bus/ops/handoff-body.js'),
      from('bus/trust/dispatch-signing.js'),
      from('bus/ops/query.js'),
      from('bus/queue.js'),
      from('bus/ops/status.js'),
      from('bus/ops/claim.js'),
      from('bus/ops/cancel.js'),
      from('bus/ops/respond.js'),
      from('bus/trust/view.js'),
      from('bus/ops/init.js'),
      from('bus/ops/join.js'),
    ])) as [Pick<Ops, 'openBus'>, Pick<Ops, 'dispatch'>, Pick<Ops, 'dispatchTargetProblem'>, Pick<Ops, 'handoffBody'>, Pick<Ops, 'commandSigner'>, Pick<Ops, 'showTask'>, Pick<Ops, 'listQueue'>, Pick<Ops, 'busStatus'>, Pick<Ops, 'claim'>, Pick<Ops, 'cancel'>, Pick<Ops, 'respond'>, Pick<Ops, 'trustList'>, Pick<Ops, 'initBus'>, Pick<Ops, 'joinBus'>];
    return { openBus: context.openBus, dispatch: dispatch.dispatch, dispatchTargetProblem: target.dispatchTargetProblem, handoffBody: body.handoffBody, commandSigner: signing.commandSigner, showTask: query.showTask, listQueue: queue.listQueue, busStatus: status.busStatus, claim: claim.claim, cancel: cancel.cancel, respond: respond.respond, trustList: view.trustList, initBus: init.initBus, joinBus: join_.joinBus };
  };
  return (loaded ??= load());
}

/** Runs `body` on the bus of `home` as a command would (bus/context.ts openBus), closing it after. */
async function withBus<T>(home: string, body: (ctx: BusContext, o: Ops) => Promise<T>, actor?: string): Promise<T> {
  const o = await ops();
  const ctx = await o.openBus(home, actor);
  try {
    return await body(ctx, o);
  } finally {
    await ctx.repo.close();
  }
}

type Handoffish = Omit<Handoff, 'id' | 'from' | 'created'>;
/** What each flag of `gitbus dispatch` that a fixture uses is in the handoff (a value, a repeatable value, or a number). */
const DISPATCH_FLAGS: Record<string, [key: keyof Handoffish, kind: 'string' | 'list' | 'int']> = {
  '--command': ['command', 'string'],
  '--to': ['to', 'string'],
  '--after': ['after', 'list'],
  '--label': ['labels', 'list'],
  '--runner': ['runner', 'string'],
  '--priority': ['priority', 'int'],
  '--timeout': ['timeout', 'string'],
  '--workdir': ['workdir', 'string'],
  '--schedule': ['schedule', 'string'],
};

/**
 * `gitbus dispatch TITLE [flags] --no-git` in this process: the handoff the CLI would write (its body from the
 * title, the --to check it makes unless --force, its signature where this node signs), queued and delivered by
 * bus/ops/dispatch.ts as the command does. Returns the id, or null when `args` has a flag not mapped here (then
 * the caller runs the CLI). Throws what the command would report.
 */
export async function dispatchInProcess(home: string, args: string[]): Promise<string | null> {
  const [title, ...rest] = args;
  if (title === undefined || title.startsWith('-')) return null;
  const handoff: Handoffish = { title };
  let id: string | undefined;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i] ?? '';
    if (flag === '--force') {
      force = true;
      continue;
    }
    const value = rest[++i];
    if (value === undefined) return null;
    if (flag === '--id') {
      id = value;
      continue;
    }
    const known = DISPATCH_FLAGS[flag];
    if (!known) return null;
    const [key, kind] = known;
    const fields = handoff as Record<string, unknown>;
    if (kind === 'list') fields[key] = [...((fields[key] as string[] | undefined) ?? []), value];
    else if (kind === 'int') {
      if (!/^-?\d+$/.test(value)) return null;
      fields[key] = Number(value);
    } else fields[key] = value;
  }
  return withBus(home, async (ctx, o) => {
    const target = handoff.to ? await o.dispatchTargetProblem(ctx, handoff.to, handoff) : null;
    if (target && !force) throw target;
    const sign = await o.commandSigner(ctx);
    const r = await o.dispatch(ctx, { handoff, body: o.handoffBody({ task: title, git: null }), ...(id !== undefined ? { id } : {}), ...(sign ? { sign } : {}) });
    return r.id;
  });
}

/** Runs the command's own reading in this process unless the home has a queue, which the command delivers first (cli/common.ts withBus). */
async function readLikeCommand<T>(home: string, command: string[], read: (ctx: BusContext, o: Ops) => Promise<unknown>): Promise<T> {
  if ((await ops()).listQueue(home).length > 0) return json<T>(await gitbus([...command, '--json'], { home }));
  // Through JSON, as the command's output is: what a test compares is the document, not the objects.
  return JSON.parse(JSON.stringify(await withBus(home, read))) as T;
}

/**
 * What `gitbus show ID --json` prints, read in this process (bus/ops/query.ts showTask after a sync, as the
 * command does), for a test that reads back a task's state and files rather than testing `show`.
 */
export function showInProcess<T = Record<string, unknown>>(home: string, id: string): Promise<T> {
  return readLikeCommand<T>(home, ['show', id], (ctx, o) => o.showTask(ctx, id));
}

/**
 * What `gitbus status --json` prints, read in this process (bus/ops/status.ts busStatus, as the command does),
 * for a test that reads the bus back rather than testing `status`. Like the command it records this node's
 * observations of heartbeats (liveness.json).
 */
export function statusInProcess<T = Record<string, unknown>>(home: string): Promise<T> {
  return readLikeCommand<T>(home, ['status'], (ctx, o) => o.busStatus(ctx, {}));
}

/** `gitbus claim ID --json` by `actor` (what GITBUS_ACTOR says to the command; default as the command's) in this process. */
export function claimInProcess(home: string, id: string, actor?: string): Promise<{ id: string; attempt: number }> {
  return withBus(home, (ctx, o) => o.claim(ctx, { id }), actor);
}

/** `gitbus cancel ID` in this process (signed where this node signs, as the command does), for a test's cleanup. */
export async function cancelInProcess(home: string, id: string, reason?: string): Promise<void> {
  await withBus(home, async (ctx, o) => o.cancel(ctx, id, reason, undefined, await o.commandSigner(ctx)));
}

/**
 * `gitbus init` and `gitbus join` in this process with options as initBus and joinBus take them (makeBus in
 * test/helpers/bus.ts does this from CLI flags), for a bus a test sets up its own way (another remote path, a
 * join over HTTP). joinBus's trust is {} unless given: what the CLI does without --trust when no terminal can ask.
 */
export async function initInProcess(home: string, opts: InitOptions): Promise<void> {
  await (await ops()).initBus(home, opts);
}
export async function joinInProcess(home: string, url: string, opts: JoinOptions): Promise<void> {
  await (await ops()).joinBus(home, url, { trust: {}, ...opts });
}

/** `gitbus trust list --json`, read in this process (bus/trust/view.ts trustList), for a test that reads back what a node accepts. */
export function trustListInProcess<T = Record<string, unknown>>(home: string): Promise<T> {
  return readLikeCommand<T>(home, ['trust', 'list'], (ctx, o) => o.trustList(ctx));
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
    await o.respond(ctx, withSummary(id, answer));
  });
}

/** `gitbus respond ID ...` by `home`'s node, in this process (a fixture: see claimAndRespond). */
export async function respondInProcess(home: string, id: string, answer: Omit<RespondInput, 'id'>): Promise<void> {
  await withBus(home, async (ctx, o) => {
    await o.respond(ctx, withSummary(id, answer));
  });
}

function withSummary(id: string, answer: Omit<RespondInput, 'id'>): RespondInput {
  return { ...answer, id, ...(answer.summary === undefined && answer.results === undefined ? { summary: answer.status } : {}) };
}
