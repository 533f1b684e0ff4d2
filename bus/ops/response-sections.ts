import { oneLineText } from '../../schemas/output-text.js';

/**
 * The one reader of a response body's `## Name` sections (the body responseBody in bus/ops/respond.ts writes): the
 * hear-back's summary line, a failed task's reason and MCP's `wait` all read them alike, so a body one face reads
 * right no other reads wrong. The output's section is read from the end instead (outputOfBody): it may hold any line.
 */

/**
 * The text of the body's `## Name` section, trimmed: its lines up to the next `## ` heading. A `\## Log` line (a run's
 * own words, escaped by responseBody) is text, not a heading. Undefined when there is no such section, or it holds
 * only blank lines. Pure.
 */
export function responseSection(body: string, name: string): string | undefined {
  const lines = body.split('\n');
  const start = lines.indexOf(`## ${name}`);
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## '));
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
