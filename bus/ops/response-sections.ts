import { oneLineText } from '../../schemas/output-text.js';

/**
 * The one reader of a response body's `## Name` sections (the body responseBody in bus/ops/respond.ts writes): the
 * hear-back's summary line, a failed task's reason and MCP's `wait` all read them alike, so a body one face reads
 * right no other reads wrong. The output's section is read from the end instead (outputOfBody, below): it may hold any
 * line; the Log section before it is read with it (logOfBody).
 */

/**
 * The sections gitbus writes in a response body, in their order (responseBody). Only these headings end a section:
 * a run's own Markdown (a claude run's final text with its `## Changes` and `## Next steps`) stays in its section.
 */
export const RESPONSE_SECTIONS = ['Summary', 'Results', 'Branch', 'Log', 'Output'] as const;

/** A line that is one of gitbus's own section headings (an escaped `\## Log` is not). */
const SECTION_HEADING = new RegExp(`^## (?:${RESPONSE_SECTIONS.join('|')})[ \t]*$`);

/** Whether `line` is one of gitbus's own section headings (an escaped `\## Log` is not). Pure. */
export function isSectionHeading(line: string): boolean {
  return SECTION_HEADING.test(line);
}

/**
 * The run's own lines that would read as one of gitbus's section headings, escaped as Markdown shows them
 * (`\## Results`), so that no run can end its section early or give its response a section of its own. Pure.
 */
export function escapeSectionHeadings(text: string): string {
  return text.replace(new RegExp(SECTION_HEADING.source, 'gm'), (line) => `\\${line}`);
}

/**
 * The text of the body's `## Name` section, trimmed: its lines up to the next of gitbus's own section headings
 * (RESPONSE_SECTIONS), so that other `## ` headings of the run's words are part of it. An escaped `\## Log` line
 * (responseBody escapes the run's own) is text, not a heading. Undefined when there is no such section, or it holds
 * only blank lines. Pure.
 */
export function responseSection(body: string, name: string): string | undefined {
  const all = body.split('\n');
  const isHeading = (l: string, n: string) => l.replace(/[ \t]+$/, '') === `## ${n}`;
  // The output is the last section and may hold any line: a heading is looked for only before it (the first
  // unescaped `## Output` line is gitbus's, the run's own being escaped), except the output's own.
  const outputAt = name === 'Output' ? -1 : all.findIndex((l) => isHeading(l, 'Output'));
  const lines = outputAt < 0 ? all : all.slice(0, outputAt);
  const start = lines.findIndex((l) => isHeading(l, name));
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => SECTION_HEADING.test(l));
  const text = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  return text === '' ? undefined : text;
}

/**
 * A section's headline for the places that show one line (the hear-back, `collect`, a failed task's reason): its
 * first line as one line of terminal text, with ` (+N more lines)` when lines follow it, so that a summary of several
 * lines (docs/PROTOCOL.md §3, responses) is never shown as if it were all of it. At most `maxChars` characters, the
 * marker included; a first line longer than that ends in `…`. Pure.
 */
export function sectionHeadline(text: string, maxChars: number): string {
  const [first = '', ...rest] = text.trim().split('\n');
  const more = rest.filter((l) => l.trim() !== '').length;
  if (more === 0) return oneLineText(first, maxChars);
  const marker = ` (+${more} more line${more === 1 ? '' : 's'})`;
  return `${oneLineText(first, Math.max(1, maxChars - marker.length))}${marker}`;
}

/** What a run's log on its node did not keep of the output (watcher/runners/log-cap.ts). */
export interface LogLoss {
  /** Bytes dropped from the output's middle, past the node's cap on a task's log (node.yaml maxLogSize). */
  dropped: number;
  /** Bytes the log could not take (a full disk), and the error that refused them (ENOSPC). */
  unwritten: number;
  error?: string;
}

/**
 * The Log section, right before the output: the output is only the end of the run's log, whose size and path on
 * the node that ran it this one line gives (docs/PROTOCOL.md §3, responses; read back by logOfBody), with what the
 * log lacks of the output, if anything, at the line's end (where readers of the line take no words). A path that
 * could not sit in backticks on one line is left out. Pure.
 */
export function logSection(log: { path: string; bytes: number; loss?: LogLoss }, id = 'ID'): string {
  const where = /^[^`\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/.test(log.path) ? ` are in \`${log.path}\`` : ' are in the log';
  const lost: string[] = [];
  if (log.loss && log.loss.dropped > 0) lost.push(`; that node dropped ${log.loss.dropped} bytes more from the middle of the output, past its cap on a task's log (maxLogSize in its node.yaml)`);
  if (log.loss && log.loss.unwritten > 0) {
    const why = log.loss.error === undefined ? '' : ` (${log.loss.error}${log.loss.error === 'ENOSPC' ? ': its disk was full' : ''})`;
    lost.push(`; ${log.loss.unwritten} bytes more could not be written to it${why}`);
  }
  return `## Log\n\n${LOG_LINE_START}${log.bytes} bytes of output${where} on the node that ran the task (\`gitbus logs ${id}\` there shows them, up to the last 8 MB)${lost.join('')}.\n`;
}

const LOG_LINE_START = 'The output below is only its end: all ';

/** The Log section as logSection writes it, right before the output. */
const LOG_SECTION_RE = /(?:^|\n)## Log\n\nThe output below is only its end: all (\d{1,16}) bytes of output are in (?:`([^`\n]+)`|the log) on the node that ran the task[^\n]*\n\n?$/;

/**
 * What a response body's Log section says (logSection): the size of the run's whole log and its path on the node
 * that ran it (null when the section does not name one), or undefined when the body has no such section (the
 * output is all of it, or an older gitbus wrote it). Only a section before the output counts. Pure.
 */
export function logOfBody(body: string): { bytes: number; path: string | null } | undefined {
  const output = outputSection(body);
  if (!output) return undefined;
  // The section right before the output's heading, one line: text of the output or the results is never taken for it.
  const m = LOG_SECTION_RE.exec(body.slice(0, output.heading));
  if (!m) return undefined;
  const bytes = Number(m[1]);
  return Number.isSafeInteger(bytes) ? { bytes, path: m[2] ?? null } : undefined;
}

/**
 * The output section of a response body (as responseBody writes it, with any fence length), or undefined. The
 * output itself may hold a `## Output` heading, even one with a fence after it, so the section is found from its
 * end: the closing fence that ends the body gives the fence's length, and the section is the last heading followed
 * by an opening fence of exactly that length, which no line of the output can hold (its fence is longer). Pure.
 */
export function outputOfBody(body: string): string | undefined {
  const section = outputSection(body);
  return section === undefined ? undefined : body.trimEnd().slice(section.from, section.to).replace(/\n$/, '');
}

/** Where the output section's heading starts, and its text's start and end, as outputOfBody finds them. Pure. */
function outputSection(body: string): { heading: number; from: number; to: number } | undefined {
  const end = body.trimEnd();
  const fence = /(?:^|\n)(`{3,})$/.exec(end.slice(end.lastIndexOf('\n')))?.[1];
  if (fence === undefined) return undefined;
  const open = `## Output\n\n${fence}\n`;
  const at = end.lastIndexOf(`\n${open}`);
  const heading = at >= 0 ? at + 1 : end.startsWith(open) ? 0 : -1;
  const from = heading + open.length;
  const to = end.length - fence.length;
  if (heading < 0 || from > to) return undefined;
  return { heading, from, to };
}
