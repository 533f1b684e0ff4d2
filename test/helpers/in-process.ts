import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BusContext } from '../../bus/context.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { InitOptions, InitResult } from '../../bus/ops/init.js';
import type { JoinOptions, JoinResult } from '../../bus/ops/join.js';
import type { RespondInput } from '../../bus/ops/respond.js';
import type { RanTask } from '../../bus/model/resume-plan.js';
import type { StatesOnBus } from '../../bus/ops/task-states.js';
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
  release: typeof import('../../bus/ops/release.js').release;
  trustList: typeof import('../../bus/trust/view.js').trustList;
  archive: typeof import('../../bus/ops/archive.js').archive;
  loadNodeConfig: typeof import('../../bus/home.js').loadNodeConfig;
  saveNodeConfig: typeof import('../../bus/home.js').saveNodeConfig;
  initBus: typeof import('../../bus/ops/init.js').initBus;
  joinBus: typeof import('../../bus/ops/join.js').joinBus;
};
let loaded: Promise<Ops> | undefined;
function ops(): Promise<Ops> {
  const load = async (): Promise<Ops> => {
    const from = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href) as Promise<Record<string, unknown>>;
    // Every module's exports in one object: the functions' names do not collide.
    const modules = await Promise.all(
      ['bus/context.js', 'bus/ops/dispatch.js', 'bus/ops/dispatch-target.js', 'bus/ops/handoff-body.js', 'bus/trust/dispatch-signing.js', 'bus/ops/query.js', 'bus/queue.js', 'bus/ops/status.js', 'bus/ops/claim.js', 'bus/ops/cancel.js', 'bus/ops/respond.js', 'bus/ops/release.js', 'bus/trust/view.js', 'bus/ops/archive.js', 'bus/home.js', 'bus/ops/init.js', 'bus/ops/join.js'].map(from),
    );
    return Object.assign({}, ...modules) as Ops;
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
 * What the bus holds about a task for `resume` and `resolve` (bus/ops/read-task.ts readRanTask), and the states
 * `worktrees` keeps a worktree by (bus/ops/task-states.ts statesOnBus): readers that no command prints as they are.
 */
export async function ranTaskInProcess(home: string, id: string): Promise<RanTask> {
  const { readRanTask } = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/ops/read-task.js')).href)) as typeof import('../../bus/ops/read-task.js');
  return withBus(home, (ctx) => readRanTask(ctx, id));
}

export async function statesOnBusInProcess(home: string, ids: string[]): Promise<StatesOnBus> {
  const { statesOnBus } = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/ops/task-states.js')).href)) as typeof import('../../bus/ops/task-states.js');
  return withBus(home, (ctx) => statesOnBus(ctx, ids));
}

export type InitNodeOptions = Omit<InitOptions, 'remote'>;

/**
 * `gitbus init --remote REMOTE` in this process with options as initBus takes them (makeBus in test/helpers/bus.ts
 * does this from CLI flags), for a bus a test sets up its own way; `now` dates its settings, first commit and node
 * card (a skewed clock).
 */
export async function initNode(home: string, remote: string, opts: InitNodeOptions = {}): Promise<InitResult> {
  return (await ops()).initBus(home, { ...opts, remote }).catch(failed(`init ${opts.node ?? ''}`));
}

/** `gitbus join REMOTE` in this process, as the CLI joins without --trust when no terminal can ask (over HTTP too). */
export async function joinNode(home: string, remote: string, opts: JoinOptions = {}): Promise<JoinResult> {
  return (await ops()).joinBus(home, remote, { trust: {}, ...opts }).catch(failed(`join ${opts.node ?? ''}`));
}

/**
 * Points a node at its bus's repository by another way to reach it (an SSH alias or URL, an http:// URL): what a
 * person does when a bus's repository moves. The functions here reach a remote in the test's own process, so an
 * SSH or HTTP node is made over the local path and then pointed at the same repository (its clone is the same).
 */
export async function pointAt(home: string, remote: string): Promise<void> {
  const o = await ops();
  await o.saveNodeConfig(home, { ...(await o.loadNodeConfig(home)), remote });
}

/** Dispatches tasks from `home` in this process (one commit each, as `gitbus dispatch --no-git` makes); their ids. */
export async function dispatchTasks(home: string, tasks: (Handoffish & { id?: string })[]): Promise<string[]> {
  return withBus(home, async (ctx, o) => {
    const ids: string[] = [];
    for (const { id, ...handoff } of tasks) {
      const r = await o.dispatch(ctx, { handoff, body: o.handoffBody({ task: handoff.title, git: null }), ...(id ? { id } : {}) });
      if (r.queued) throw new Error(`the task was queued, not delivered: ${r.queued.reason}`);
      ids.push(r.id);
    }
    return ids;
  }).catch(failed('dispatch'));
}

/** One task dispatched from `home` (dispatchTasks): its id. */
export async function dispatchTask(home: string, task: Handoffish & { id?: string }): Promise<string> {
  const [id] = await dispatchTasks(home, [task]);
  if (id === undefined) throw new Error('no task dispatched');
  return id;
}

/**
 * A task dispatched from `home`, run by its node and then archived (`archive --all`): its id. Claimed `attempts` times
 * (the bus's maxAttempts allowing), each claim but the last given back (`release`); it ends `succeeded` (a response
 * to the last claim) or `cancelled` (the last claim given back too, then a cancel).
 */
export async function archivedTask(home: string, title: string, opts: { attempts?: number; end?: 'succeeded' | 'cancelled'; group?: string } = {}): Promise<string> {
  const id = await dispatchTask(home, { title, command: 'true', ...(opts.group !== undefined ? { group: opts.group } : {}) });
  return withBus(home, async (ctx, o) => {
    const attempts = opts.attempts ?? 1;
    for (let a = 1; a <= attempts; a++) {
      await o.claim(ctx, { id });
      if (a < attempts || opts.end === 'cancelled') await o.release(ctx, id);
    }
    if (opts.end === 'cancelled') await o.cancel(ctx, id);
    else await o.respond(ctx, { id, status: 'succeeded' });
    const a = await o.archive(ctx, { all: true });
    if (!a.archived.includes(id)) throw new Error(`${id} was not archived: ${JSON.stringify(a)}`);
    return id;
  }).catch(failed('claim, release, end and archive'));
}

function failed(what: string): (err: unknown) => never {
  return (err) => {
    throw new Error(`${what} failed: ${(err as Error).message}`);
  };
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

/** What the MCP `wait` tool and `dispatch --wait` wait on (watcher/wait-for-task.ts), in this process: ended and the last state. */
export function waitInProcess(home: string, id: string, timeoutMs: number): Promise<{ ended: boolean; state: string }> {
  return withBus(home, async (ctx) => {
    // Loaded by the one test that waits, not with every file's fixtures.
    const { waitForTask } = (await import(pathToFileURL(join(ROOT, 'dist/watcher/wait-for-task.js')).href)) as typeof import('../../watcher/wait-for-task.js');
    const r = await waitForTask(ctx, id, { timeoutMs, signal: new AbortController().signal, onState: async () => undefined, onOutput: async () => undefined });
    return { ended: r.ended, state: r.out.state };
  });
}
