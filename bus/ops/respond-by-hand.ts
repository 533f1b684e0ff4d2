import { redactUrlCredentials } from '../../schemas/url-redact.js';
import { terminalText } from '../../schemas/output-text.js';
import { BODY_LIMITS } from './respond.js';

/**
 * The Summary section a response given by hand (`gitbus respond`, the MCP tool) gets: the summary given, unless it
 * is blank, which one-line views would show as nothing at all; then, as when none is given, the status when no
 * results are given either. Pure.
 */
export function givenSummary(summary: string | undefined, results: string | undefined, status: string): { summary?: string } {
  if (summary !== undefined && summary.trim() !== '') return { summary };
  return results === undefined ? { summary: status } : {};
}

/**
 * What a response keeps of each section its caller wrote, said for each one that is cut (BODY_LIMITS): a long
 * summary, results or reason goes on the bus shortened, and the caller must hear it, not find it later. Pure.
 */
export function cutSections(input: { summary?: string | undefined; results?: string | undefined; reason?: string | undefined }): string[] {
  const said: string[] = [];
  for (const section of ['summary', 'results', 'reason'] as const) {
    const text = input[section];
    if (text === undefined) continue;
    const limit = BODY_LIMITS[section];
    const bytes = Buffer.byteLength(redactUrlCredentials(terminalText(text)), 'utf8');
    if (bytes <= limit) continue;
    said.push(`${section} is ${bytes} bytes; its first ${limit} were kept (a response's ${section} holds ${limit / 1024} KiB): put the rest ${section === 'results' ? "in the project's repository (a file on the task's branch)" : 'in results'}`);
  }
  return said;
}
