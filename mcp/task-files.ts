import type { ShownTask } from '../bus/ops/query.js';
import { parseArchivedFile, parseBusFile, type ParseResult } from '../schemas/bus-file.js';
import type { Handoff } from '../schemas/handoff.js';
import type { TaskResponse } from '../schemas/response.js';
import { responseSection } from '../bus/ops/response-sections.js';

/** A task's handoff and response as fields and body, and its other files (claims, releases, cancel) as text. Pure. */
export interface TaskFiles {
  handoff: { fields: Handoff; body: string } | null;
  response: { fields: TaskResponse; body: string } | null;
  others: { path: string; text: string }[];
}

export function taskFiles(files: ShownTask['files']): TaskFiles {
  const out: TaskFiles = { handoff: null, response: null, others: [] };
  for (const f of files) {
    const p = parse(f.path, f.text);
    if (p.ok && p.kind === 'handoff' && !out.handoff) out.handoff = { fields: p.file.data, body: p.file.body };
    else if (p.ok && p.kind === 'response' && !out.response) out.response = { fields: p.file.data, body: p.file.body };
    // As the tool's schema declares a file: a file not read is its text's note (`(not shown: …)`), as before.
    else out.others.push({ path: f.path, text: f.text });
  }
  return out;
}

/** showTask names archived files `archive:<month>/<id>/<name>`. */
function parse(path: string, text: string): ParseResult {
  return path.startsWith('archive:') ? parseArchivedFile(path.slice('archive:'.length), text) : parseBusFile(path, text);
}

/** The text of a `## Name` section of a response body (responseSection), or null: MCP's JSON has no undefined. Pure. */
export function bodySection(body: string, name: string): string | null {
  return responseSection(body, name) ?? null;
}
