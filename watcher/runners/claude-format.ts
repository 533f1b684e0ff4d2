import { terminalText } from '../../schemas/output-text.js';
import { ClaudeStream, type StreamLine } from './claude-result.js';

/**
 * claude's stream-json output (`claude -p --output-format stream-json --verbose`) as lines a person reads: what
 * claude says, each tool call with its main argument, the tool calls that failed, API retries, and at the end how
 * it ended with its turns, cost and time. gitbus's own notes (`gitbus: ...`, progress posted with `gitbus
 * progress`) and anything else that is not a JSON event (claude's stderr) pass through unchanged, so text that is
 * already readable (a heartbeat's readable tail) stays as it is. The log keeps the raw stream; this is a view.
 *
 * stream-json carries no running cost: the cost arrives with the `result` line. Pure (no I/O): chunks in, text out.
 */
export class ClaudeLogFormatter {
  private out: string[] = [];
  private readonly stream = new ClaudeStream((line) => this.line(line));
  /** Tool names by tool_use id, so a failed tool_result can say which tool failed. */
  private readonly tools = new Map<string, string>();
  private cwd: string | undefined;
  /**
   * Whether claude has shown anything of its own yet: what it said, a tool call, a retry, its stderr; not the
   * session's opening line (`claude: session …`) nor gitbus's notes, which say only that the run started.
   */
  get spoke(): boolean {
    return this.said;
  }
  private said = false;

  /** Readable text for the complete lines in `chunk`; a line cut at the end waits for the next chunk. */
  push(chunk: string): string {
    this.stream.push(chunk);
    return this.take();
  }

  /** The last line, if the text did not end with a newline. */
  end(): string {
    this.stream.end();
    return this.take();
  }

  private take(): string {
    const text = this.out.length > 0 ? `${this.out.join('\n')}\n` : '';
    this.out = [];
    return text;
  }

  private line(l: StreamLine): void {
    if ('text' in l) {
      // A window onto a log (a heartbeat's, a response's) may start inside a long JSON line, and a log still being
      // written may end inside one: neither is worth showing.
      if (l.text.startsWith('{"') || (l.text.endsWith('}') && /"(session_id|uuid|type)":"/.test(l.text))) return;
      this.out.push(l.text);
      if (!l.text.startsWith('gitbus: ')) this.said = true;
      return;
    }
    // stream-json carries what claude said and what its tools printed as JSON strings, whose escapes (\u001b) the
    // log's terminal text could not see: decoded, they are control characters again, made terminal text here.
    const shown = this.event(l.event).map((line) => terminalText(line));
    if (shown.length > 0 && !(l.event['type'] === 'system' && l.event['subtype'] === 'init')) this.said = true;
    this.out.push(...shown);
  }

  private event(e: Record<string, unknown>): string[] {
    switch (e['type']) {
      case 'system':
        return this.system(e);
      case 'assistant':
        return this.assistant(e);
      case 'user':
        return this.toolErrors(e);
      case 'result':
        return [resultLine(e)];
      default:
        return [];
    }
  }

  private system(e: Record<string, unknown>): string[] {
    if (e['subtype'] === 'init') {
      this.cwd = str(e['cwd']);
      const facts = [str(e['model']) && `model ${str(e['model'])}`, str(e['permissionMode']) && `permission mode ${str(e['permissionMode'])}`].filter(Boolean);
      return [`claude: session ${str(e['session_id']) ?? '?'}${facts.length ? ` (${facts.join(', ')})` : ''}`];
    }
    if (e['subtype'] === 'api_retry') {
      const delay = num(e['retry_delay_ms']);
      return [`claude: the API failed (${oneLine(str(e['error']) ?? 'unknown error', 200)}); retry ${num(e['attempt']) ?? '?'} of ${num(e['max_retries']) ?? '?'}${delay !== undefined ? ` in ${seconds(delay)}` : ''}`];
    }
    if (e['subtype'] === 'compact_boundary') return ['claude: the conversation was compacted'];
    return [];
  }

  private assistant(e: Record<string, unknown>): string[] {
    const message = obj(e['message']);
    const out: string[] = [];
    for (const block of arr(message?.['content'])) {
      const b = obj(block);
      if (!b) continue;
      if (b['type'] === 'text') {
        const text = (str(b['text']) ?? '').trim();
        if (text !== '') out.push(...textLines('claude: ', text));
      } else if (b['type'] === 'tool_use') {
        const name = str(b['name']) ?? 'a tool';
        const toolId = str(b['id']);
        if (toolId !== undefined) this.tools.set(toolId, name);
        const arg = mainArgument(name, obj(b['input']) ?? {}, this.cwd);
        out.push(`  → ${name}${arg ? `: ${arg}` : ''}`);
      }
    }
    return out;
  }

  private toolErrors(e: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const block of arr(obj(e['message'])?.['content'])) {
      const b = obj(block);
      if (!b || b['type'] !== 'tool_result' || b['is_error'] !== true) continue;
      const name = this.tools.get(str(b['tool_use_id']) ?? '') ?? 'a tool';
      out.push(`  ✗ ${name}: ${oneLine(resultText(b['content']) || 'failed', 300)}`);
    }
    return out;
  }
}

/** A whole log or window of one at once. Pure. */
export function readableClaudeLog(text: string): string {
  const f = new ClaudeLogFormatter();
  return f.push(text) + f.end();
}

/**
 * Whether the start of a claude run's log holds more than gitbus's notes and the session's opening line
 * (ClaudeLogFormatter.spoke): a line still being written does not count yet. Pure.
 */
export function claudeHasSpoken(text: string): boolean {
  const f = new ClaudeLogFormatter();
  f.push(text);
  return f.spoke;
}

/** The last line of a run: how it ended, turns, cost, time. Pure. */
export function resultLine(e: Record<string, unknown>): string {
  const subtype = str(e['subtype']) ?? 'unknown';
  const facts = [
    num(e['num_turns']) !== undefined ? `${num(e['num_turns'])} turn${num(e['num_turns']) === 1 ? '' : 's'}` : null,
    num(e['total_cost_usd']) !== undefined ? `$${num(e['total_cost_usd'])}` : null,
    num(e['duration_ms']) !== undefined ? seconds(num(e['duration_ms']) ?? 0) : null,
  ].filter((x): x is string => x !== null);
  const ok = subtype === 'success' && e['is_error'] !== true;
  const errors = arr(e['errors']).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('; ');
  const said = !ok ? oneLine(errors || (str(e['result']) ?? ''), 300) : '';
  const how = ok ? 'done' : subtype === 'success' ? 'failed' : `stopped (${subtype})`;
  return `claude: ${how}${facts.length ? `: ${facts.join(', ')}` : ''}${said ? ` — ${said}` : ''}`;
}

/** What a tool call is about, in a few words: the command, the file, the pattern, the URL. Pure. */
export function mainArgument(name: string, input: Record<string, unknown>, cwd?: string): string {
  const path = (p: unknown) => {
    const s = str(p);
    if (s === undefined) return undefined;
    return cwd && s.startsWith(`${cwd}/`) ? s.slice(cwd.length + 1) : s;
  };
  const pick = (): string | undefined => {
    switch (name) {
      case 'Bash':
        return str(input['command']);
      case 'Read':
      case 'Write':
      case 'Edit':
      case 'MultiEdit':
        return path(input['file_path']);
      case 'NotebookEdit':
        return path(input['notebook_path']);
      case 'Glob':
      case 'Grep': {
        const where = path(input['path']);
        return `${str(input['pattern']) ?? ''}${where ? ` in ${where}` : ''}`;
      }
      case 'WebFetch':
        return str(input['url']);
      case 'WebSearch':
        return str(input['query']);
      case 'Task':
      case 'Agent':
        return str(input['description']) ?? str(input['prompt']);
      case 'TodoWrite': {
        const todos = arr(input['todos']);
        return `${todos.length} item${todos.length === 1 ? '' : 's'}`;
      }
      default:
        return Object.values(input).find((v): v is string => typeof v === 'string' && v.trim() !== '');
    }
  };
  return oneLine(pick() ?? '', 200);
}

/** A tool result's content (a string, or text blocks) as text. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return arr(content)
    .map((c) => str(obj(c)?.['text']) ?? '')
    .filter(Boolean)
    .join('\n');
}

/** Text over several lines: the first after the prefix, the rest indented under it; at most 40 lines. */
function textLines(prefix: string, text: string): string[] {
  const lines = text.split('\n').map((l) => l.trimEnd());
  const shown = lines.slice(0, 40).map((l, i) => (i === 0 ? `${prefix}${l}` : `  ${l}`));
  if (lines.length > 40) shown.push(`  … ${lines.length - 40} more lines`);
  return shown;
}

function oneLine(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
