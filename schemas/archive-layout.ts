import type { FileProblem } from './errors.js';
import { ATTEMPT_RULE, InvalidIdError, parseAttempt, TASK_ID_RE, TASK_ID_RULE } from './ids.js';
import { timestampMs } from './timestamp.js';
import { checkedAttempt, checkedId, modeProblem, problem, whyNotId, type ArchivablePath, type BusPath } from './layout.js';
import { SIGNATURE_EXT, SIGNATURES_FOLDER } from './signature-layout.js';

// ----- archive branch (PROTOCOL.md §7) -----

export const ARCHIVE_MONTH_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

export interface ArchivedPath {
  /** `yyyy-mm`, the month the task ended. */
  month: string;
  location: ArchivablePath;
}

/** `<yyyy-mm>/<id>/handoff.md`, `claim.<n>.md`, `release.<n>.md`, `cancel.md`, `response.md` or `delivery.<n>.md`. */
export function archivePathFor(month: string, p: BusPath): string {
  if (!ARCHIVE_MONTH_RE.test(month)) {
    throw new InvalidIdError(`${JSON.stringify(month)} is not an archive month`, 'use yyyy-mm, for example 2026-11', { month });
  }
  switch (p.kind) {
    case 'handoff':
    case 'cancel':
    case 'response':
      return `${month}/${checkedId(p.id)}/${p.kind}.md`;
    case 'claim':
    case 'release':
    case 'delivery':
      return `${month}/${checkedId(p.id)}/${p.kind}.${checkedAttempt(p.attempt)}.md`;
    case 'settings':
    case 'node':
      throw new InvalidIdError(`a ${p.kind} file is not archived`, 'archive only the files of a finished task', { kind: p.kind });
  }
}

/**
 * Where the signature of an archived file goes on the archive branch: `signatures/<yyyy-mm>/<id>/<name>.sig`,
 * mirroring the file's archive path as main's `signatures/` mirrors main. The signature itself still signs the
 * file's path in main (PROTOCOL.md §11), which `parseArchivePath` gives back.
 */
export function archiveSignaturePathFor(month: string, p: BusPath): string {
  return `${SIGNATURES_FOLDER}/${archivePathFor(month, p)}${SIGNATURE_EXT}`;
}

const ARCHIVE_NAME_RE = /^(handoff|cancel|response)\.md$|^(claim|release|delivery)\.([^.]*)\.md$/;

/** The month of an end time, in UTC, which names the archive folder. */
export function archiveMonthOf(time: string | Date): string {
  const ms = typeof time === 'string' ? timestampMs(time) : time.getTime();
  if (ms === undefined || Number.isNaN(ms)) {
    throw new InvalidIdError(`${String(time)} is not a time`, 'pass an RFC 3339 timestamp or a valid Date', { time: String(time) });
  }
  return new Date(ms).toISOString().slice(0, 7);
}

/** Reads a path of the archive branch back into a month and a location, or says what is wrong with it. */
export function parseArchivePath(path: string, mode = '100644'): ArchivedPath | FileProblem {
  const parts = path.split('/');
  const expected = '<yyyy-mm>/<id>/handoff.md, claim.<n>.md, release.<n>.md, cancel.md, response.md or delivery.<n>.md';
  if (parts.length !== 3) return problem(path, `"${path}" is not an archive path`, `archive paths are ${expected}`);
  const [month = '', id = '', name = ''] = parts;
  const wrongMode = modeProblem(path, `${month}/${id}/`, mode);
  if (wrongMode) return wrongMode;
  if (!ARCHIVE_MONTH_RE.test(month)) return problem(path, `"${month}" is not an archive month`, `archive folders are named yyyy-mm, for example 2026-11`);
  const whyId = whyNotId(id, TASK_ID_RE, 64);
  if (whyId !== undefined) return problem(path, `"${id}" is not a valid task id: ${whyId}`, `rename the folder to ${TASK_ID_RULE}`);
  const m = ARCHIVE_NAME_RE.exec(name);
  if (!m) return problem(path, `"${name}" is not an archived file name`, `archive paths are ${expected}`);
  const single = m[1] as 'handoff' | 'cancel' | 'response' | undefined;
  if (single !== undefined) return { month, location: { kind: single, id } };
  const kind = m[2] as 'claim' | 'release' | 'delivery';
  const attempt = parseAttempt(m[3] ?? '');
  if (attempt === undefined) {
    return problem(path, `"${m[3] ?? ''}" in "${name}" is not an attempt number`, `name it ${kind}.<n>.md, with ${ATTEMPT_RULE}`);
  }
  return { month, location: { kind, id, attempt } };
}
