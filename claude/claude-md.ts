/**
 * gitbus's block in a CLAUDE.md: the lines between a begin marker that carries the version that wrote them and an
 * end marker. Everything outside the markers is the user's and is never changed. Pure.
 */

const BEGIN_RE = /^<!-- gitbus:begin v?(\S+?)(?:\s[^>]*)? -->$/;
const END_RE = /^<!-- gitbus:end -->$/;

export const END_MARKER = '<!-- gitbus:end -->';

export function beginMarker(version: string): string {
  return `<!-- gitbus:begin v${version} (written by "gitbus setup claude": edits between these markers are replaced on upgrade) -->`;
}

/** The whole block as setup writes it, markers included, without a trailing newline. */
export function renderBlock(version: string, body: string): string {
  return [beginMarker(version), body.trim(), END_MARKER].join('\n');
}

export interface FoundBlock {
  /** Index of the begin marker's line and of the end marker's line (0-based). */
  begin: number;
  end: number;
  version: string;
  /** The block's text, markers included. */
  text: string;
}

export type BlockScan = { ok: true; blocks: FoundBlock[] } | { ok: false; line: number; reason: string };

/** Every gitbus block in `text`, or the first marker that does not pair up (1-based line). */
export function scanBlocks(text: string): BlockScan {
  const lines = text.split('\n');
  const fenced = fencedLines(lines);
  const blocks: FoundBlock[] = [];
  let open: { begin: number; version: string } | null = null;
  for (const [i, raw] of lines.entries()) {
    // Markers in a code fence are an example the user wrote (of this very block, say), not gitbus's block.
    if (fenced.has(i)) continue;
    const line = raw.trimEnd();
    const b = BEGIN_RE.exec(line);
    if (b) {
      if (open) return { ok: false, line: open.begin + 1, reason: 'a gitbus:begin marker has no gitbus:end before the next gitbus:begin' };
      open = { begin: i, version: b[1] ?? '' };
      continue;
    }
    if (END_RE.test(line)) {
      if (!open) return { ok: false, line: i + 1, reason: 'a gitbus:end marker has no gitbus:begin before it' };
      blocks.push({ begin: open.begin, end: i, version: open.version, text: lines.slice(open.begin, i + 1).join('\n') });
      open = null;
    }
  }
  if (open) return { ok: false, line: open.begin + 1, reason: 'a gitbus:begin marker has no gitbus:end after it' };
  return { ok: true, blocks };
}

const FENCE_OPEN_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE_RE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/**
 * The indexes of the lines of every closed code fence (``` or ~~~, as CommonMark reads them), fence lines included.
 * A fence that is never closed counts for nothing here, though Markdown runs it to the end: a block setup appends
 * after it would otherwise never be found, and be appended again by every setup. Pure.
 */
export function fencedLines(lines: readonly string[]): Set<number> {
  const fenced = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN_RE.exec((lines[i] ?? '').trimEnd());
    const fence = open?.[1];
    // A backtick fence's info string has no backtick: "```a``` b" is inline code.
    if (!open || fence === undefined || (fence.startsWith('`') && (open[2] ?? '').includes('`'))) continue;
    const end = lines.findIndex((l, j) => j > i && closesFence(l, fence));
    if (end === -1) continue;
    for (let j = i; j <= end; j++) fenced.add(j);
    i = end;
  }
  return fenced;
}

function closesFence(line: string, fence: string): boolean {
  const close = FENCE_CLOSE_RE.exec(line.trimEnd())?.[1];
  return close !== undefined && close[0] === fence[0] && close.length >= fence.length;
}

/** `edited`: the block of the current version whose text is not the one it writes (a hand edit, which setup replaces). */
export type BlockState = { state: 'absent' } | { state: 'current'; version: string } | { state: 'outdated'; version: string } | { state: 'edited'; version: string } | { state: 'duplicated'; versions: string[] };

/** Whether `text` holds exactly `block` once. */
export function blockState(blocks: FoundBlock[], block: string): BlockState {
  if (blocks.length === 0) return { state: 'absent' };
  if (blocks.length > 1) return { state: 'duplicated', versions: blocks.map((b) => b.version) };
  const only = blocks[0] as FoundBlock;
  if (only.text.replaceAll('\r\n', '\n').trimEnd() === block) return { state: 'current', version: only.version };
  // Same version, other text: not an older gitbus's block, which would say "of v0.1.0, not the current one (v0.1.0)".
  const current = BEGIN_RE.exec(block.split('\n')[0] ?? '')?.[1];
  return { state: only.version === current ? 'edited' : 'outdated', version: only.version };
}

/** The line ending `text` uses: its first line's (CRLF on Windows), LF for a file of one line or none. Pure. */
export function lineEnding(text: string): '\r\n' | '\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/**
 * `text` with `block` in place of its gitbus block (the first; any further copies go), or appended after a blank
 * line when it has none. Only the lines between markers change, and the block gets the file's line ending: a CRLF
 * file with LF lines in it is one some editors and tools read as broken.
 */
export function upsertBlock(text: string, blocks: FoundBlock[], block: string): string {
  const eol = lineEnding(text);
  const ours = block.replaceAll('\n', eol);
  if (blocks.length === 0) {
    if (text.trim() === '') return `${ours}${eol}`;
    const sep = text.endsWith(eol + eol) ? '' : text.endsWith(eol) ? eol : eol + eol;
    return `${text}${sep}${ours}${eol}`;
  }
  return splice(text, blocks, ours);
}

/** `text` without its gitbus blocks and the blank line setup put before each; null when nothing else is left. */
export function removeBlocks(text: string, blocks: FoundBlock[]): string | null {
  if (blocks.length === 0) return text;
  const result = splice(text, blocks, null);
  return result.trim() === '' ? null : result;
}

/** A line of `text.split('\n')` that is empty: '' or, in a CRLF file, '\r'. */
const isBlank = (line: string | undefined): boolean => line === '' || line === '\r';

/**
 * Cuts every block out of `text`, putting `first` where the first one was. Where a block is cut, the blank line
 * on either side of it becomes one (the one after, which in a file ending there is its last line ending), so an
 * appended block leaves the file as it was before. Lines are split at LF: a CRLF file's lines keep their CR.
 */
function splice(text: string, blocks: FoundBlock[], first: string | null): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let i = 0;
  for (const [n, b] of blocks.entries()) {
    out.push(...lines.slice(i, b.begin));
    const endCr = (lines[b.end] ?? '').endsWith('\r') ? '\r' : '';
    i = b.end + 1;
    if (n === 0 && first !== null) out.push(`${first}${endCr}`);
    else if (out.length > 0 && isBlank(out[out.length - 1]) && isBlank(lines[i])) out.pop();
  }
  out.push(...lines.slice(i));
  return out.join('\n');
}

/** A rough token count (about four characters per token for English prose), for the block's size budget. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
