import type { FileProblem } from './errors.js';
import { MAX_FILE_BYTES, utf8Length } from './field-limits.js';
import { allFrom, hasLoneSurrogate } from './text-scan.js';

export type FileTextResult = { ok: true; text: string } | { ok: false; problem: FileProblem };

function fileProblem(path: string, reason: string, fix: string): FileProblem {
  return { path, field: '', reason, fix, severity: 'error' };
}

/** 1-based line of a character offset. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function isValidUtf8Prefix(bytes: Uint8Array): boolean {
  try {
    // `stream: true` treats a sequence cut off at the end as incomplete rather than invalid.
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Offset at which an invalid byte sequence is detected (bisection: the prefix before it still decodes). */
function firstBadByte(bytes: Uint8Array): number {
  let good = 0;
  let bad = bytes.length;
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (isValidUtf8Prefix(bytes.subarray(0, mid))) good = mid;
    else bad = mid;
  }
  return bad - 1;
}

/** UTF-8 size of `text`, exact unless it is far over the limit (then a lower bound, to skip encoding it all). */
function byteLength(text: string): number {
  // Every UTF-16 code unit is at least one UTF-8 byte and at most three.
  if (text.length > 4 * MAX_FILE_BYTES) return text.length;
  if (text.length * 3 <= MAX_FILE_BYTES) return text.length;
  return utf8Length(text);
}

/** A bus file above MAX_FILE_BYTES: never parsed, never shown (`exact`: `size` is its size, not a lower bound). */
export function tooLargeProblem(path: string, size: number, exact = true): FileProblem {
  return fileProblem(
    path,
    `the file is ${exact ? '' : 'at least '}${size} bytes, more than the limit of ${MAX_FILE_BYTES} (256 KiB); gitbus does not read it`,
    'make it smaller: keep long output in a separate file outside the bus folders and refer to it',
  );
}

/**
 * The text of a bus file, after the checks that come before any parsing: the size limit (so no oversized file is
 * ever parsed), valid UTF-8, no NUL byte. A leading byte-order mark is dropped.
 */
export function decodeFileText(path: string, content: string | Uint8Array): FileTextResult {
  const size = typeof content === 'string' ? byteLength(content) : content.length;
  if (size > MAX_FILE_BYTES) return { ok: false, problem: tooLargeProblem(path, size, typeof content !== 'string' || content.length <= 4 * MAX_FILE_BYTES) };
  let text: string;
  if (typeof content === 'string') {
    if (hasLoneSurrogate(content)) {
      return { ok: false, problem: fileProblem(path, 'the text contains a lone UTF-16 surrogate, which is not valid Unicode', 'write it as UTF-8 text') };
    }
    text = content;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
    } catch {
      const at = firstBadByte(content);
      return {
        ok: false,
        problem: fileProblem(path, `the file is not valid UTF-8 (invalid byte sequence at byte offset ${at})`, 'save the file as UTF-8 text'),
      };
    }
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    return {
      ok: false,
      problem: fileProblem(path, `the file contains a NUL byte (line ${lineAt(text, nul)}), so it is not text`, 'remove the NUL byte; bus files are UTF-8 text'),
    };
  }
  return { ok: true, text };
}

export interface ConflictMarker {
  line: number;
  marker: string;
}

// `=======` alone is also a setext heading underline in Markdown, so it only counts next to the other markers or
// where Markdown cannot be (in YAML).

/**
 * The marker a line starts with, `/^(<{7}|>{7}|\|{7})(?:[ \t]|$)/`, as a scan (schemas/text-scan.ts): seven of `<`,
 * `>` or `|`, then a blank or the line's end.
 */
export function conflictMarkerOf(line: string): string | undefined {
  const c = line.charAt(0);
  if (c !== '<' && c !== '>' && c !== '|') return undefined;
  const marker = c.repeat(7);
  if (!line.startsWith(marker)) return undefined;
  return line.length === 7 || line[7] === ' ' || line[7] === '\t' ? marker : undefined;
}

/** `/^={7}[ \t]*$/`: seven `=` and blanks. */
export function isSeparator(line: string): boolean {
  return line.startsWith('=======') && allFrom(line, 7, (c) => c === 0x20 || c === 0x09);
}

/**
 * The first git conflict marker line in `text`. `yamlLines` is how many leading lines are YAML (all of them for
 * gitbus.yaml), where a lone `=======` counts too.
 */
export function findConflictMarker(text: string, yamlLines = Infinity): ConflictMarker | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const marker = conflictMarkerOf(line);
    if (marker !== undefined) return { line: i + 1, marker };
    if (i < yamlLines && isSeparator(line)) return { line: i + 1, marker: '=======' };
  }
  return undefined;
}

export function conflictProblem(path: string, found: ConflictMarker): FileProblem {
  return fileProblem(
    path,
    `the file contains a git conflict marker "${found.marker}" at line ${found.line}: a merge left it unresolved`,
    'resolve the conflict: keep the right version, delete the <<<<<<<, ======= and >>>>>>> lines, and commit',
  );
}
