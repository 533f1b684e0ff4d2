import { outputView } from '../../watcher/output-view.js';
import { z } from '../../schemas/zod.js';
import { showTask } from '../../bus/ops/query.js';
import { formatDuration, parseDuration, tryParseDuration } from '../../schemas/duration.js';
import { durationSchema } from '../../schemas/duration-schema.js';
import { withRule } from '../../schemas/rule.js';
import { deliveringSchema, fileProblemSchema, maxCharsSchema, offlineSchema, tail, taskRefSchema, shownStateSchema } from '../schemas.js';
import { bodySection, taskFiles } from '../task-files.js';
import { defineTool } from '../tool.js';
import { waitForTask } from '../../watcher/wait-for-task.js';
import { responseOut } from './show.js';
import { outputSourceSchema } from './output.js';

/**
 * Under the 60 s after which a client of the MCP SDK gives up on a call by default, so a plain call (no progress
 * token, or a client that does not reset its timeout on progress) returns before its client gives up on it.
 */
const DEFAULT_TIMEOUT = '50s';
const DEFAULT_MAX = 4000;
/** A progress message is a line in a client's display, not a log: the end of a long burst of output is enough. */
const PROGRESS_CHARS = 2000;

/**
 * The longest one call waits. A call nobody reads any more polls the bus until its timeout: an MCP SDK client whose
 * `maxTotalTimeout` runs out drops the call without cancelling it (only its plain timeout sends a cancel), so an
 * unbounded timeout could keep the server polling for days for nobody.
 */
const MAX_TIMEOUT = '1h';
const MAX_TIMEOUT_MS = parseDuration(MAX_TIMEOUT);

const timeoutSchema = withRule(durationSchema, (text) =>
  (tryParseDuration(text) ?? 0) > MAX_TIMEOUT_MS ? { reason: `${text} is longer than the ${MAX_TIMEOUT} one call may wait`, fix: `wait at most ${MAX_TIMEOUT}, and call wait again while ended is false` } : undefined,
);

const input = z.strictObject({
  id: taskRefSchema,
  timeout: z.optional(timeoutSchema).register(z.globalRegistry, { description: `how long to wait at most: a whole number followed by ms, s, m, h or d, at most ${MAX_TIMEOUT} (default ${DEFAULT_TIMEOUT}; 0s looks once). A call that runs out returns ended: false; call again to wait on. Longer than your own request timeout only with a progress token and that timeout reset on progress` }),
  maxChars: maxCharsSchema(DEFAULT_MAX, '; the response (its body as the file holds it, at most 256 KiB) is given whole unless the result must be cut to fit one message (cut)'),
});

const output = z.object({
  id: z.string(),
  ended: z.boolean().register(z.globalRegistry, { description: 'whether the task has ended; false when the timeout came first' }),
  state: shownStateSchema,
  node: z.nullable(z.string()),
  attempt: z.nullable(z.number()),
  summary: z.nullable(z.string()).register(z.globalRegistry, { description: "the response's Summary section" }),
  response: responseOut,
  output: z.string().register(z.globalRegistry, { description: 'the end of its output' }),
  outputTruncated: z.boolean().register(z.globalRegistry, { description: 'whether only the end of the output is given: cut to maxChars, or only the end of a longer log to begin with (then fullLogPath says where all of it is, on the node that ran it)' }),
  fullLogPath: z.optional(z.string()).register(z.globalRegistry, { description: "where the whole log is, on the node that ran it, when output is only its end" }),
  problems: z.optional(z.array(fileProblemSchema)).register(z.globalRegistry, { description: "the task's files that are not valid (a response that does not parse ends the task without its summary): each with the field and the fix, as `show` gives them" }),
  source: outputSourceSchema,
  offline: offlineSchema,
  delivering: z.optional(deliveringSchema),
});

export const waitTool = defineTool({
  name: 'wait',
  title: 'Wait for a task',
  description: (server) =>
    `Wait until a task ends (succeeded, failed, cancelled, timed-out) or the timeout passes, then return its state, summary, response and the end of its output. With a progress token, each change of state and new output is sent as a progress notification on the way, and after each ${formatDuration(server.progressEveryMs)} without news where the task stands (its state and node): a client that gives up on a request after a timeout of its own (60 s in the MCP SDK) should pass a progress token and reset that timeout on progress (the SDK: onprogress with resetTimeoutOnProgress), or keep this timeout under its own. A cancelled call stops waiting.`,
  input,
  output,
  hints: { readOnlyHint: true, openWorldHint: true },
  async run(a, env) {
    const ctx = await env.bus();
    const { out, ended } = await waitForTask(ctx, a.id, {
      timeoutMs: parseDuration(a.timeout ?? DEFAULT_TIMEOUT),
      signal: env.signal,
      onState: (line) => env.progress(line),
      onOutput: (text) => env.progress(tail(text.trimEnd(), PROGRESS_CHARS).text),
      still: { everyMs: env.progressEveryMs, report: (line) => env.progress(line) },
    });
    const shown = ended ? await showTask(ctx, out.id) : null;
    const response = shown ? taskFiles(shown.files).response : null;
    const problems = shown?.summary?.problems ?? [];
    // A claude run's stream-json as readable lines, as `dispatch --wait` shows it (watcher/output-view.ts).
    const o = tail(outputView(out), a.maxChars ?? DEFAULT_MAX);
    return {
      id: out.id,
      ended,
      state: out.state,
      node: out.node,
      attempt: out.attempt,
      summary: response ? bodySection(response.body, 'Summary') : null,
      response,
      output: o.text,
      outputTruncated: o.truncated || out.truncated,
      ...(out.truncated && typeof out.fullLogPath === 'string' ? { fullLogPath: out.fullLogPath } : {}),
      ...(problems.length > 0 ? { problems } : {}),
      source: out.source,
      offline: out.offline,
      ...(out.delivering ? { delivering: out.delivering } : {}),
    };
  },
});
