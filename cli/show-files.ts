import type { ShownFile } from '../bus/ops/query.js';
import { isSectionHeading } from '../bus/ops/response-sections.js';
import { splitFrontmatter } from '../schemas/frontmatter-split.js';
import { dataNote, fenceFor } from '../schemas/output-text.js';

/**
 * A task's files as plain `show` prints them, for a person and for an agent whose shell tool keeps only so much of a
 * command's output (Claude Code's Bash cuts it past 30,000 characters, in the middle, without a word): each long part
 * cut to its cap, with a line of gitbus's own saying what was cut and how to see all of it, and everything the files
 * hold framed as data. `--full` prints every part whole; `--json` is never cut. Pure.
 */

/** How much of one part plain `show` prints: this many lines or characters, whichever ends it first. */
export interface PartCap {
  lines: number;
  chars: number;
}

/**
 * A task of a few screens shows whole; a response of 128 KiB of results, a 64 KiB output tail or forty claims pushed
 * by hand show in well under 30,000 characters.
 */
export const SHOW_CAPS = {
  frontMatter: { lines: 40, chars: 4_000 },
  /** A handoff's body, or any other file's. */
  body: { lines: 100, chars: 8_000 },
  /** Each section of a response but its output (Summary, Results, Branch, Log), from its start. */
  section: { lines: 60, chars: 4_000 },
  /** A response's Output section, from its end: where a failure's error is. */
  output: { lines: 60, chars: 4_000 },
  /** Claims, releases, a cancel and deliveries together: past it, each further one is named, not shown. */
  otherFiles: 16_000,
} as const satisfies Record<string, PartCap | number>;

/** A stretch of a file's own text, or gitbus's line where it cut some out. */
type Piece = { text: string } | { cut: string };

interface Part {
  /** As the cut line names it: `front matter`, `body`, `Results section`. */
  name: string;
  text: string;
  cap: PartCap;
  keep: 'start' | 'end';
}

/**
 * The lines `show` prints for the task's files: the note that other machines wrote them, then each file under its
 * `==> path <==` header, its text between two lines of backticks longer than any run of backticks it holds (so no
 * line of it can close its block or pass for one of gitbus's lines around it), gitbus's cut lines between such
 * blocks. `note` is false for a dispatch still queued here, which this node wrote itself.
 */
export function fileLines(id: string, files: readonly ShownFile[], o: { full: boolean; note: boolean }): string[] {
  if (files.length === 0) return [];
  const out: string[] = o.note ? ['', dataNote("The task's files below, each between two lines of backticks that none of its own lines can close,")] : [];
  let othersShown = 0;
  const skipped: ShownFile[] = [];
  for (const f of files) {
    if (f.notShown) {
      out.push('', `==> ${f.path} <==`, f.text.trimEnd());
      continue;
    }
    const other = isOtherFile(f.path);
    if (other && !o.full && othersShown >= SHOW_CAPS.otherFiles) {
      skipped.push(f);
      continue;
    }
    const pieces = o.full ? [{ text: f.text }] : cutFile(id, f.path, f.text);
    if (other) othersShown += pieces.reduce((n, p) => n + ('text' in p ? p.text.length : 0), 0);
    out.push('', `==> ${f.path} <==`, ...fenced(f.text, pieces));
  }
  if (skipped.length > 0) {
    const chars = skipped.reduce((n, f) => n + f.text.length, 0);
    const named = skipped.slice(0, 3).map((f) => f.path).join(', ');
    out.push('', `gitbus: not shown: ${skipped.length} more of the task's claims, releases and other files (${named}${skipped.length > 3 ? ', ...' : ''}; ${chars} characters), past the ${SHOW_CAPS.otherFiles} characters shown of them; "gitbus show ${id} --full" shows all of them`);
  }
  return out;
}

/** The files of a task's attempts and end but its response: many of them may be pushed by hand. */
function isOtherFile(path: string): boolean {
  return !isHandoff(path) && !isResponse(path);
}

/** `handoffs/ID.md`, or an archived task's `handoff.md` (`archive:<month>/<id>/handoff.md`). */
function isHandoff(path: string): boolean {
  return path.startsWith('handoffs/') || path.endsWith('/handoff.md');
}

function isResponse(path: string): boolean {
  return path.startsWith('responses/') || path.endsWith('/response.md');
}

/** Each piece's text between fence lines, the cut lines between them. */
function fenced(whole: string, pieces: Piece[]): string[] {
  const fence = fenceFor(whole);
  const out: string[] = [];
  pieces.forEach((p, i) => {
    if ('cut' in p) out.push(p.cut);
    else {
      const text = i === pieces.length - 1 ? p.text.trimEnd() : p.text.replace(/\n$/, '');
      out.push(fence, ...(text === '' ? [] : [text]), fence);
    }
  });
  return out;
}

/** A file's parts, each cut to its cap. */
function cutFile(id: string, path: string, text: string): Piece[] {
  const pieces: Piece[] = [];
  for (const part of partsOf(path, text)) pieces.push(...cutPart(id, part));
  // Pieces of text next to each other are one block.
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (last && 'text' in last && 'text' in p) last.text += p.text;
    else merged.push({ ...p });
  }
  return merged;
}

/** A file as its front matter and body, a response's body as its sections; together exactly the file's text. */
function partsOf(path: string, text: string): Part[] {
  const split = splitFrontmatter(text);
  if (!split.ok) return [{ name: 'body', text, cap: SHOW_CAPS.body, keep: 'start' }];
  const head: Part = { name: 'front matter', text: text.slice(0, text.length - split.body.length), cap: SHOW_CAPS.frontMatter, keep: 'start' };
  return [head, ...(isResponse(path) ? sectionsOf(split.body) : [{ name: 'body', text: split.body, cap: SHOW_CAPS.body, keep: 'start' as const }])];
}

/**
 * A response body's sections, each from its heading, as gitbus writes them (bus/ops/respond.ts): the output is the
 * last and may hold any line, so after its heading nothing starts a section.
 */
function sectionsOf(body: string): Part[] {
  const parts: Part[] = [];
  let from = 0;
  let name = 'body';
  let at = 0;
  const close = (to: number) => {
    if (to > from) parts.push({ name, text: body.slice(from, to), cap: name === 'Output section' ? SHOW_CAPS.output : name === 'body' ? SHOW_CAPS.body : SHOW_CAPS.section, keep: name === 'Output section' ? 'end' : 'start' });
  };
  while (at < body.length && name !== 'Output section') {
    const nl = body.indexOf('\n', at);
    const end = nl < 0 ? body.length : nl;
    const line = body.slice(at, end);
    if (isSectionHeading(line)) {
      close(at);
      from = at;
      name = `${line.slice(3).trim()} section`;
    }
    at = end + 1;
  }
  close(body.length);
  return parts;
}

/** One part as pieces: whole, or its kept start or end with gitbus's line for the rest. */
function cutPart(id: string, p: Part): Piece[] {
  const full = `"gitbus show ${id} --full" shows all of it`;
  if (p.keep === 'start') {
    const kept = startOf(p.text, p.cap);
    if (kept.length === p.text.length) return [{ text: p.text }];
    const rest = p.text.slice(kept.length);
    return [{ text: kept }, { cut: `gitbus: cut here: ${lineCount(rest)} more ${plural(lineCount(rest), 'line')} (${rest.length} characters) of its ${p.name}; ${full}` }];
  }
  // The heading stays, with the opening of the output's own fence after it, then the end.
  const heading = /^[^\n]*\n(?:[ \t]*\n)?(?:`{3,}[ \t]*\n)?/.exec(p.text)?.[0] ?? p.text;
  const rest = p.text.slice(heading.length);
  const kept = endOf(rest, p.cap);
  if (kept.length === rest.length) return [{ text: p.text }];
  const gone = rest.slice(0, rest.length - kept.length);
  return [{ text: heading }, { cut: `gitbus: cut here: the first ${lineCount(gone)} ${plural(lineCount(gone), 'line')} (${gone.length} characters) of its ${p.name}; ${full}, "gitbus logs ${id}" the output alone` }, { text: kept }];
}

/** The first `cap.lines` lines of `text`, at most `cap.chars` characters of them. */
function startOf(text: string, cap: PartCap): string {
  let end = 0;
  for (let n = 0; n < cap.lines && end < text.length; n++) {
    const nl = text.indexOf('\n', end);
    end = nl < 0 ? text.length : nl + 1;
  }
  if (end <= cap.chars) return text.slice(0, end);
  // Never half of a character outside the Basic Multilingual Plane.
  return text.slice(0, isHighSurrogate(text.charCodeAt(cap.chars - 1)) ? cap.chars - 1 : cap.chars);
}

/** The last `cap.lines` lines of `text`, at most `cap.chars` characters of them, from a line's start when one is in them. */
function endOf(text: string, cap: PartCap): string {
  const ends = text.endsWith('\n');
  const lines = (ends ? text.slice(0, -1) : text).split('\n');
  const kept = lines.length <= cap.lines ? text : `${lines.slice(-cap.lines).join('\n')}${ends ? '\n' : ''}`;
  if (kept.length <= cap.chars) return kept;
  const tail = kept.slice(kept.length - cap.chars);
  const nl = tail.indexOf('\n');
  if (nl >= 0 && nl < tail.length - 1) return tail.slice(nl + 1);
  // Never half of a character outside the Basic Multilingual Plane.
  return isLowSurrogate(tail.charCodeAt(0)) ? tail.slice(1) : tail;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** How many lines `text` has, a last one without its newline counted. */
function lineCount(text: string): number {
  let n = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) n++;
  return text.endsWith('\n') || text === '' ? n : n + 1;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
