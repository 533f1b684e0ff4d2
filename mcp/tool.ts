import type { z } from 'zod/mini';
import { z as zm } from '../schemas/zod.js';
import type { BusContext } from '../bus/context.js';

/** What a tool's handler gets besides its arguments: the node's bus, a way to report progress, and cancellation. */
export interface ToolEnv {
  /** The node's bus, opened on first use and kept for the server's life; queued changes are delivered first. */
  bus(): Promise<BusContext>;
  /** Tells the client how a long call is going; does nothing when the client asked for no progress. */
  progress(message: string): Promise<void>;
  /**
   * How often a long call reports where it stands when nothing new came: a client that resets its request timeout
   * on progress (the SDK's `resetTimeoutOnProgress`) then keeps waiting as long as the call runs.
   */
  progressEveryMs: number;
  /** Aborted when the client cancels the call or the server shuts down. */
  signal: AbortSignal;
  /** The server's working directory: where the MCP client started it (for Claude Code, the project). */
  cwd: string;
}

/** What a tool's description may say of the server that lists it: the facts fixed when it started. */
export type ServerFacts = Pick<ToolEnv, 'progressEveryMs'>;

/** Hints for the client (MCP tool annotations). */
export interface ToolHints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ToolSpec<I extends z.ZodMiniObject, O extends z.ZodMiniObject> {
  name: string;
  title: string;
  /** A function when the text names a setting of the server, so that it says what this server does. */
  description: string | ((server: ServerFacts) => string);
  input: I;
  output: O;
  hints: ToolHints;
  /** A thin handler over bus/ops: no printing; errors are thrown (mcp/call.ts turns them into tool errors). */
  run(args: z.output<I>, env: ToolEnv): Promise<z.input<O>>;
}

/** A tool with its types erased, so that tools of different shapes fit in one list. */
export interface Tool {
  name: string;
  title: string;
  description: string | ((server: ServerFacts) => string);
  input: z.ZodMiniObject;
  output: z.ZodMiniObject;
  hints: ToolHints;
  /** `args` has passed `input`. */
  run(args: unknown, env: ToolEnv): Promise<Record<string, unknown>>;
}

/** Checks a tool's handler against its schemas at compile time, then erases the types. */
export function defineTool<I extends z.ZodMiniObject, O extends z.ZodMiniObject>(spec: ToolSpec<I, O>): Tool {
  return { ...spec, output: zm.extend(spec.output, { cut: cutSchema }), run: async (args, env) => (await spec.run(args as z.output<I>, env)) as Record<string, unknown> };
}

/** Every result may be cut to fit one MCP message (mcp/result-fit.ts); `cut` then says where. */
const cutSchema = zm.optional(zm.object({ note: zm.string(), paths: zm.array(zm.string()), more: zm.int() })).register(zm.globalRegistry, {
  description: 'present only when the result was too large for one MCP message and was cut to fit: what was shortened (paths), and how to get it whole',
});
