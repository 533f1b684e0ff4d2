import type { StatusTask } from './status-core.js';
import { summaryLine, summaryPieces } from './status-digest-file.js';

/*
 * `status --json` lists every task. With 5,000 pending, parsing a digest's 2 MB of summaries and writing 3 MB of JSON
 * again was most of what the command cost (issue 14). A digest's summaries payload is laid out as `status --json`
 * lists tasks, one per line, and its summaries carry all a status adds to a task of its commit (a pending task's
 * `noTaker`), so it is written as it is. Only what is of the moment is not in it: a claimed or cancelling task's
 * progress and delivering, and a pending task's `takersDown` (the nodes that may take it do not run), so those lines
 * alone are parsed, filled in and written anew.
 */

/** `"state":"claimed"` as only a summary's own state or a `waitingOn` entry's can hold it (a `"` in a string is `\"`). */
const OF_THE_MOMENT = ['claimed', 'cancelling'].map((s) => Buffer.from(`","state":"${s}"`, 'utf8'));
const OPEN_ID = Buffer.from('{"id":"', 'utf8');
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const SPACE = 0x20;

/**
 * Lines to fill in beyond the claimed and cancelling ones: those holding any of `needles` (bytes that the summary line
 * of a pending task that may wait on a node that is down holds: status-no-taker.ts takersDownLines), and with
 * `allPending` every pending task's. What fill adds to them is of the moment too (`takersDown`); a line it adds nothing
 * to is written as it was, since a summary line is JSON.stringify's, and parsed and written again it is the same bytes.
 */
export interface AlsoFill {
  needles: readonly Buffer[];
  allPending: boolean;
}

const PENDING = Buffer.from('","state":"pending"', 'utf8');
const NO_MORE: AlsoFill = { needles: [], allPending: false };

/**
 * The tasks of a digest's summaries payload, in its pieces (status-digest-file.ts summaryPieces: each holds whole
 * lines, or separators), as `status --json` lists them: the pieces as they are, with each claimed or cancelling task's
 * line (and those `also` names) replaced by its summary filled in. Pure but for `fill`.
 */
export function tasksJsonOfPayload(pieces: readonly Buffer[], fill: (t: StatusTask) => StatusTask, also: AlsoFill = NO_MORE): Buffer[] {
  return pieces.flatMap((piece) => filledPiece(piece, fill, also));
}

function filledPiece(piece: Buffer, fill: (t: StatusTask) => StatusTask, also: AlsoFill): Buffer[] {
  // By where each line starts: a line two needles find is filled in once.
  const found = new Map<number, number>();
  for (const needle of also.allPending ? [...OF_THE_MOMENT, PENDING] : OF_THE_MOMENT) {
    for (let hit = piece.indexOf(needle); hit >= 0; hit = piece.indexOf(needle, hit + needle.length)) {
      const line = ownStateLine(piece, hit);
      if (line) found.set(line[0], line[1]);
    }
  }
  for (const needle of also.needles) {
    for (let hit = piece.indexOf(needle); hit >= 0; hit = piece.indexOf(needle, hit + needle.length)) {
      const line = lineAround(piece, hit);
      if (line) found.set(line[0], line[1]);
    }
  }
  if (found.size === 0) return [piece];
  const lines = [...found].sort((a, b) => a[0] - b[0]);
  const out: Buffer[] = [];
  let at = 0;
  for (const [start, end] of lines) {
    out.push(piece.subarray(at, start), Buffer.from(JSON.stringify(fill(JSON.parse(piece.toString('utf8', start, end)) as StatusTask)), 'utf8'));
    at = end;
  }
  out.push(piece.subarray(at));
  return out;
}

/**
 * The line (start and end, its separator left out) whose summary's own state the match at `hit` is; null when the
 * match is a dependency's state in its `waitingOn`. A line starts `{"id":"<id>` (after the indent, or at the start of
 * a piece), and an id holds no quote; it ends at a line break (a `,` before it is the separator's), or its piece's end.
 */
function ownStateLine(piece: Buffer, hit: number): [number, number] | null {
  const line = lineAround(piece, hit);
  return line && piece.indexOf(QUOTE, line[0] + OPEN_ID.length) === hit ? line : null;
}

/** The summary line that holds the match at `hit` (start and end, as ownStateLine gives them); null when none does. */
function lineAround(piece: Buffer, hit: number): [number, number] | null {
  let first = piece.lastIndexOf(NEWLINE, hit) + 1;
  while (piece[first] === SPACE) first++;
  if (!OPEN_ID.every((b, i) => piece[first + i] === b)) return null;
  const nl = piece.indexOf(NEWLINE, hit);
  if (nl < 0) return [first, piece.length];
  return [first, piece[nl - 1] === COMMA ? nl - 1 : nl];
}

/** Tasks in hand as `status --json` lists them, laid out as a digest's payload is. */
export function tasksJsonOf(tasks: readonly StatusTask[]): Buffer[] {
  return summaryPieces(tasks.map(summaryLine));
}
