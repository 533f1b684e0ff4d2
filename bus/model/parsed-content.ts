import { parseBusFile } from '../../schemas/bus-file.js';
import { fastBusFileRead } from '../../schemas/bus-file-fast-read.js';
import { tooLargeProblem } from '../../schemas/file-text.js';
import type { Parsed } from './task-view.js';

/** A file's bytes (or its size, above the limit) as a snapshot keeps them parsed. */
export function parsedContent(path: string, content: string | Uint8Array | number): Parsed<unknown> {
  if (typeof content === 'number') return { ok: false, problems: [tooLargeProblem(path, content)] };
  // A handoff, claim or response as gitbus writes it is read without the schemas script (schemas/bus-file-fast-read.ts).
  const fast = fastBusFileRead(path, content);
  if (fast !== undefined) return { ok: true, data: fast.data, body: fast.body, warnings: [] };
  const r = parseBusFile(path, content);
  if (r.ok) return { ok: true, data: r.file.data, body: r.file.body, warnings: r.warnings };
  return { ok: false, problems: r.problems, ...(r.unsupportedProtocol !== undefined ? { unsupportedProtocol: r.unsupportedProtocol } : {}) };
}
