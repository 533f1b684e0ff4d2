import { claudeReportSchema, type ClaudeReport } from '../../schemas/response.js';

/**
 * The result object `claude -p` prints at the end: the whole of stdout with `--output-format json`, the last line
 * with `stream-json`. Fields as the CLI writes them (2.1.x); only those gitbus reads are named here.
 */
export interface ClaudeResultEvent {
  type: 'result';
  /** `success`, or `error_max_turns`, `error_max_budget_usd`, `error_during_execution`, ... */
  subtype?: string;
  is_error?: boolean;
  result?: string;
  session_id?: string;
  total_cost_usd?: number;
  num_turns?: number;
  duration_ms?: number;
  modelUsage?: Record<string, unknown>;
  /** Why an `error_during_execution` run ended (it has no `result`), e.g. a session to resume that is not there. */
  errors?: unknown[];
}

/** A longer line of claude's output is not read (it is not an event gitbus needs): the memory a line may take. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;
const OVERLONG_NOTE = `[a line longer than ${MAX_LINE_CHARS / 1024 / 1024} MiB, not read]`;

/** At most this much of the result text goes into the response (a bus file is at most 256 KiB). */
export const MAX_RESULT_BYTES = 96 * 1024;

/** One line of claude's output as the stream reads it: a JSON event, or a line that is not one (stderr, notes). */
export type StreamLine = { event: Record<string, unknown> } | { text: string };

/**
 * Reads claude's stream-json output as it arrives (chunks cut anywhere) and keeps what the response needs: the
 * session and model from the `system/init` line, the last API retry, and the final `result`. `onLine` sees every
 * non-empty line as it is read (the readable view, claude-format.ts, is built on it). Pure.
 */
export class ClaudeStream {
  constructor(private readonly onLine?: (line: StreamLine) => void) {}

  result: ClaudeResultEvent | undefined;
  sessionId: string | undefined;
  model: string | undefined;
  /** The last `system/api_retry` line: claude is failing to reach the API and trying again. */
  retry: { attempt?: number; max_retries?: number; error?: string } | undefined;
  /** Non-empty lines that are not JSON objects. */
  garbled = 0;
  /** The last non-empty line, for a reason when no result came. */
  lastLine = '';
  /** The line being read, in the pieces it came in: joined once, when its newline comes. */
  private partial: string[] = [];
  private partialLength = 0;
  /** The line being read is over MAX_LINE_CHARS: the rest of it is dropped until its newline. */
  private overlong = false;

  push(chunk: string): void {
    // Only the new chunk is searched, and the line so far is never flattened before its end: one endless line
    // costs time in proportion to its length, and memory up to the cap.
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      this.append(chunk.slice(from, nl));
      this.endLine();
      from = nl + 1;
    }
    this.append(chunk.slice(from));
  }

  end(): void {
    if (this.partialLength > 0 || this.overlong) this.endLine();
  }

  private append(piece: string): void {
    if (this.overlong || piece === '') return;
    if (this.partialLength + piece.length > MAX_LINE_CHARS) {
      this.overlong = true;
      this.partial = [];
      this.partialLength = 0;
      return;
    }
    this.partial.push(piece);
    this.partialLength += piece.length;
  }

  private endLine(): void {
    if (this.overlong) {
      this.garbled++;
      this.lastLine = OVERLONG_NOTE;
      this.onLine?.({ text: OVERLONG_NOTE });
    } else this.line(this.partial.join(''));
    this.partial = [];
    this.partialLength = 0;
    this.overlong = false;
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    this.lastLine = line;
    let event: unknown;
    try {
      event = line.startsWith('{') ? JSON.parse(line) : undefined;
    } catch {
      event = undefined;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      this.garbled++;
      this.onLine?.({ text: raw.replace(/\r$/, '') });
      return;
    }
    const e = event as Record<string, unknown>;
    this.onLine?.({ event: e });
    if (typeof e['session_id'] === 'string') this.sessionId ??= e['session_id'];
    if (e['type'] === 'system' && e['subtype'] === 'init' && typeof e['model'] === 'string') this.model = e['model'];
    if (e['type'] === 'system' && e['subtype'] === 'api_retry') this.retry = e as NonNullable<ClaudeStream['retry']>;
    if (e['type'] === 'assistant') this.retry = undefined;
    if (e['type'] === 'result') this.result = e as unknown as ClaudeResultEvent;
  }
}

export interface ClaudeVerdict {
  status: 'succeeded' | 'failed';
  reason?: string;
  claude: ClaudeReport;
  resultText?: string;
}

/**
 * How a run that ended by itself went, from its output and exit code. A missing or garbled result, an error
 * result, or a non-zero exit is a failure with the reason in words; not logged in and an unreachable API say how
 * to fix them. Pure.
 */
export function claudeVerdict(stream: ClaudeStream, exitCode: number | null, node: string, logTail = ''): ClaudeVerdict {
  const claude = claudeReport(stream);
  const r = stream.result;
  if (r === undefined) {
    // What claude wrote to stderr is in the log, between the JSON lines (and after gitbus's own notes).
    const plain = logTail.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('gitbus: ') && !l.startsWith('{'));
    const last = plain.at(-1) ?? stream.lastLine;
    const said = last ? `; it last said: ${excerpt(last)}` : '';
    const how = exitCode === null ? 'was killed by a signal' : `exited with code ${exitCode}`;
    const problem = plain.map((l) => knownProblem(l, node)).find((p) => p !== null) ?? knownProblem(stream.lastLine, node);
    if (problem) return { status: 'failed', reason: problem, claude };
    const garbled = stream.garbled > 0 && stream.sessionId === undefined ? ' (its output is not the JSON claude -p --output-format stream-json prints: is claude.binary really Claude Code?)' : '';
    return { status: 'failed', reason: `claude ${how} without a result${garbled}${said}`, claude };
  }
  const text = typeof r.result === 'string' ? r.result : undefined;
  const resultText = text === undefined || text.trim() === '' ? undefined : capResult(text);
  const withText = resultText === undefined ? {} : { resultText };
  if (r.is_error === true || (r.subtype !== undefined && r.subtype !== 'success')) {
    const errors = Array.isArray(r.errors) ? r.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') : '';
    const problem = knownProblem(text ?? '', node) ?? (errors ? knownProblem(errors, node) : null);
    if (problem) return { status: 'failed', reason: problem, claude, ...withText };
    return { status: 'failed', reason: errorReason(r, text || errors || undefined), claude, ...withText };
  }
  if (exitCode !== 0) return { status: 'failed', reason: exitCode === null ? 'claude was killed by a signal after its result' : `claude exited with code ${exitCode} after a successful result`, claude, ...withText };
  return { status: 'succeeded', claude, ...withText };
}

/** The response's `claude` field: only values its schema accepts, so odd output never blocks the response. Pure. */
export function claudeReport(stream: ClaudeStream): ClaudeReport {
  const r = stream.result;
  const model = stream.model ?? Object.keys(r?.modelUsage ?? {})[0];
  const candidate: Record<string, unknown> = {
    sessionId: r?.session_id ?? stream.sessionId,
    costUsd: r?.total_cost_usd,
    turns: r?.num_turns,
    model,
    subtype: r?.subtype,
  };
  const out: Record<string, unknown> = {};
  const shape = claudeReportSchema.shape;
  for (const key of Object.keys(shape) as (keyof typeof shape)[]) {
    const v = candidate[key];
    if (v !== undefined && shape[key].safeParse(v).success) out[key] = v;
  }
  return out as ClaudeReport;
}

/** Words for a run that did not reach the API, or null. Pure. */
export function knownProblem(said: string, node: string): string | null {
  if (/not logged in|invalid api key|missing api key|please run \/login|authentication_failed|oauth token (has )?(expired|been revoked)|could not resolve authentication/i.test(said)) {
    return `claude is not logged in on node ${node} (it said: ${excerpt(said)}): log in once with \`claude\` on ${node} as the user the watcher runs as, or set ANTHROPIC_API_KEY in the watcher's environment, then dispatch the task again`;
  }
  if (/unable to connect to api|connection error|econnrefused|enotfound|etimedout|eai_again|fetch failed|getaddrinfo|network error/i.test(said)) {
    return `claude could not reach the Anthropic API from node ${node} (it said: ${excerpt(said)}): check the node's network, proxy (HTTPS_PROXY) or firewall, then dispatch the task again`;
  }
  if (/no conversation found with session id/i.test(said)) {
    return `claude has no session to resume on node ${node} (it said: ${excerpt(said)}): sessions live in ~/.claude of the node that ran them and belong to the directory they ran in, so send the task to that node (--to) with the same workdir, or leave resume out`;
  }
  return null;
}

function errorReason(r: ClaudeResultEvent, text: string | undefined): string {
  switch (r.subtype) {
    case 'error_max_budget_usd':
      return `claude stopped at the budget limit after spending $${r.total_cost_usd ?? '?'}: raise claude.maxBudgetUsd (the node's cap bounds it), or resume the session`;
    case 'error_max_turns':
      return `claude stopped at the turn limit after ${r.num_turns ?? '?'} turns${r.total_cost_usd !== undefined ? ` ($${r.total_cost_usd} spent)` : ''}: raise claude.maxTurns (the node's cap bounds it), or resume the session`;
    case 'error_during_execution':
      return `claude failed during the run${text ? `: ${excerpt(text)}` : ''}`;
    default:
      return `claude reported an error${r.subtype && r.subtype !== 'success' ? ` (${r.subtype})` : ''}${text ? `: ${excerpt(text)}` : ''}`;
  }
}

/** One line of at most 300 characters. */
function excerpt(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 300 ? `${one.slice(0, 299)}…` : one;
}

function capResult(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_RESULT_BYTES) return text;
  let cut = text.slice(0, MAX_RESULT_BYTES);
  while (Buffer.byteLength(cut, 'utf8') > MAX_RESULT_BYTES) cut = cut.slice(0, Math.floor(cut.length * 0.9));
  return `${cut}\n\n[… cut at ${MAX_RESULT_BYTES / 1024} KiB: the whole result is the last line of the task's log]`;
}
