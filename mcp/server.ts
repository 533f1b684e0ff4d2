import { statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { openBus, type BusContext } from '../bus/context.js';
import { GITBUS_VERSION } from '../bus/node-card.js';
import { deliverQueued } from '../bus/ops/deliver.js';
import { listQueue } from '../bus/queue.js';
import { outageCode } from '../bus/remote-failure.js';
import { withListingBudget } from '../bus/transport/listing-budget.js';
import { LocalTransport } from '../bus/transport/local.js';
import type { Transport } from '../bus/transport/transport.js';
import { callTool, errorResult } from './call.js';
import { callShape } from './call-shape.js';
import { idOfDropped, MAX_MESSAGE_BYTES, LineGate, type DroppedLine } from './line-gate.js';
import { listing } from './listing.js';
import { TOOLS } from './tools/index.js';

/** Said to the client at initialization: what the server is for, so a model knows when to reach for it. */
const INSTRUCTIONS =
  'gitbus: a message bus for a fleet of machines over one shared git repository. `dispatch` puts a task on the bus for a node (a shell command, a claude prompt, or project work on a git repository); `wait` waits for its response with progress; `show`, `logs` and `status` read the bus. As a worker of this node: `claim_next`, do the work, `respond`. Errors say how to fix them.';

export interface ServeOptions {
  home: string;
  /** Lines for a person reading the server's log: standard error, never standard output (the protocol). */
  log: (line: string) => void;
  /** How often a long call (a `wait`) reports where it stands when nothing new came; default PROGRESS_EVERY_MS. */
  progressEveryMs?: number;
}

/**
 * Well under the 60 s after which a client of the MCP SDK gives up on a call by default, so that one that resets its
 * timeout on progress keeps waiting, with room for a slow poll of a remote (3 s at most, LISTING_BUDGET).
 */
export const PROGRESS_EVERY_MS = 15_000;

/**
 * Serves the gitbus tools over MCP on standard input and output until the client closes standard input or the
 * process is told to stop. The node's bus is opened at the first tool call, not at start, so that a client can
 * list the tools (and a person can register the server) before the home has a bus; a failure to open is that
 * call's error and the next call tries again.
 */
export async function serveMcp(o: ServeOptions): Promise<void> {
  // Only cli/ prints, but a stray console.log anywhere would corrupt the protocol: send it to the log instead.
  console.log = (...args: unknown[]) => o.log(args.map(String).join(' '));
  const open: { bus: Promise<BusContext> | null } = { bus: null };
  const stopping = new AbortController();
  /** node.yaml as the bus was opened with it: its inode and time, which a leave and a join in the home change. */
  let openedAs = '';
  const configId = (config: string): string => {
    const s = statSync(config, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeMs}` : '';
  };
  const opened = (): Promise<BusContext> =>
    (open.bus ??= openBus(o.home, undefined, budgeted).then(
      (ctx) => {
        openedAs = configId(ctx.paths.config);
        return ctx;
      },
      (err: unknown) => {
        open.bus = null;
        throw err;
      },
    ));
  const bus = async (): Promise<BusContext> => {
    let ctx = await opened();
    // A home removed while the server runs (the node left, or its folder was deleted): the bus kept open would
    // go on acting as that node, cloning again and claiming in a name no home holds. Opened again instead, which
    // says there is no bus there (or serves the node joined there since, or node.yaml as edited).
    if (configId(ctx.paths.config) !== openedAs) {
      open.bus = null;
      await ctx.repo.close().catch(() => undefined);
      ctx = await opened();
    }
    await deliverQueuedQuietly(ctx, o.log);
    return ctx;
  };

  const server = new Server({ name: 'gitbus', title: 'gitbus', version: GITBUS_VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const byName = new Map(TOOLS.map((t) => [t.name, t]));
  const inflight = new Set<Promise<unknown>>();
  const progressEveryMs = o.progressEveryMs ?? PROGRESS_EVERY_MS;
  const listed = TOOLS.map((t) => listing(t, { progressEveryMs }));
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = byName.get(req.params.name);
    // An unknown tool is a protocol error (the MCP specification's example of one), not a tool result.
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `no tool "${req.params.name}": the tools are ${TOOLS.map((t) => t.name).join(', ')}`);
    const token = extra._meta?.progressToken;
    let step = 0;
    // A tool may report progress without awaiting it (a wait's output follower). Every report is written before
    // the call's answer, and none after it: a report reaching the client after the result is for a token it has
    // already forgotten (a protocol error there).
    let answered = false;
    const sending = new Set<Promise<void>>();
    const progress = (message: string): Promise<void> => {
      if (token === undefined || answered) return Promise.resolve();
      const sent = extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++step, message } })
        .catch(() => {
          // The client went away; the call's own answer will not reach it either.
        })
        .finally(() => sending.delete(sent));
      sending.add(sent);
      return sent;
    };
    const started = Date.now();
    const env = { bus, progress, progressEveryMs, signal: AbortSignal.any([extra.signal, stopping.signal]), cwd: process.cwd(), home: o.home };
    const call = callTool(tool, req.params.arguments, env, o.log);
    inflight.add(call);
    try {
      return await call;
    } finally {
      answered = true;
      await Promise.allSettled([...sending]);
      inflight.delete(call);
      // The SDK drops the answer to a cancelled call; the log says the call did stop (a client's request timeout
      // cancels it too: the reason says so).
      if (extra.signal.aborted) o.log(`gitbus mcp: ${tool.name} (request ${String(extra.requestId)}) was cancelled by the client (${cancelReason(extra.signal)}); it stopped after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  });

  // The SDK's transport reads our gate, not standard input: a line it could not take would close it (mcp/line-gate.ts).
  const gated = new PassThrough();
  const transport = new StdioServerTransport(gated);
  // The SDK's transport waits for 'drain' once per answer standard output could not take at once: a client that
  // reads slowly while many large results go out adds a listener per answer, which is no leak (each goes at drain).
  process.stdout.setMaxListeners(0);
  const names = TOOLS.map((t) => t.name);
  const gate = new LineGate(
    (line) => {
      const shape = callShape(line, names);
      if (shape.kind === 'pass') gated.write(shape.line);
      else void transport.send(shape.message).catch((err: unknown) => o.log(`gitbus mcp: could not answer a malformed call: ${err instanceof Error ? err.message : String(err)}`));
    },
    (line) => void answerDropped(transport, line, o.log),
  );
  const onData = (chunk: Buffer) => gate.push(chunk);
  process.stdin.on('data', onData);
  process.stdin.on('error', (err) => o.log(`gitbus mcp: standard input: ${err.message}`));
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    // Calls under way are answered before the server closes: a client may write its last request and close
    // standard input at once. A `wait` stops waiting and answers with the state it has.
    const stop = async () => {
      stopping.abort();
      await Promise.allSettled([...inflight]);
      // The SDK sends each answer a few promise steps after the handler settles; closing cancels unsent ones.
      await new Promise((r) => setImmediate(r));
      await server.close();
      // Standard input is ours, not the transport's: reading it would keep the process alive after a signal while
      // the client still holds the pipe open.
      process.stdin.off('data', onData);
      process.stdin.pause();
      gated.end();
    };
    // The transport leaves the end of standard input (the client closed it) to its owner.
    process.stdin.once('end', () => void stop());
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => void stop());
  });
  server.onerror = (err) => o.log(`gitbus mcp: ${err.message}`);
  await server.connect(transport);
  o.log(`gitbus mcp: serving ${TOOLS.length} tools for the bus home ${o.home} on standard input and output`);
  await closed;
  stopping.abort();
  const ctx = await open.bus?.catch(() => null);
  await ctx?.repo.close();
}

/** Why the client cancelled: the reason of its `notifications/cancelled`, when it gave one. */
function cancelReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string' && r !== '') return r;
  return r instanceof Error ? r.message : 'no reason given';
}

/**
 * A remote that takes connections and never answers would hold every call (and the server's shutdown) for the
 * transport's two-minute timeout: its ref listing gets a few seconds, as the hooks give it (claude/freshness.ts),
 * after which a call answers from the last known state with `offline`, and for a while later calls do so at once.
 * A local remote (a path) is read directly and is left as it is.
 */
export const LISTING_BUDGET = { budgetMs: 3_000, rememberMs: 15_000 };
function budgeted(t: Transport): Transport {
  return t instanceof LocalTransport ? t : withListingBudget(t, LISTING_BUDGET);
}

/** Changes queued on this node while the remote could not be reached go out first, as every CLI command does. */
async function deliverQueuedQuietly(ctx: BusContext, log: (line: string) => void): Promise<void> {
  if (listQueue(ctx.paths.home).length === 0) return;
  try {
    const d = await deliverQueued(ctx);
    if (d.delivered.length > 0) log(`gitbus mcp: delivered ${d.delivered.length} queued change(s): ${d.delivered.map((e) => `${e.kind} ${e.id}`).join(', ')}`);
    for (const r of d.rejected) log(`gitbus mcp: warning: queued ${r.entry.kind} ${r.entry.id} was refused: ${r.reason} (kept in ${r.path})`);
  } catch (err) {
    if (outageCode(err) === null) throw err;
  }
}

/**
 * A message too long to read is answered when its id can be found, so that the client does not wait for it: a tool
 * call as a tool error the model can act on, anything else as a JSON-RPC error. Either way the server serves on.
 */
async function answerDropped(transport: StdioServerTransport, line: DroppedLine, log: (line: string) => void): Promise<void> {
  const { id, method } = idOfDropped(line);
  const why = `the message is ${line.bytes} bytes; gitbus mcp reads messages of at most ${MAX_MESSAGE_BYTES} bytes`;
  log(`gitbus mcp: dropped a message of ${line.bytes} bytes (${method ?? 'no method found'}, id ${id === null ? 'not found' : JSON.stringify(id)}): too long`);
  if (id === null || method === null) return;
  const fix = 'a bus file is at most 256 KiB: shorten the arguments (put large material in the repository the task works on, and name it)';
  try {
    if (method === 'tools/call') await transport.send({ jsonrpc: '2.0', id, result: errorResult({ code: 'BAD_INPUT', message: why, fix }) });
    else await transport.send({ jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidRequest, message: `${why}; ${fix}` } });
  } catch (err) {
    log(`gitbus mcp: could not answer the dropped message: ${err instanceof Error ? err.message : String(err)}`);
  }
}
