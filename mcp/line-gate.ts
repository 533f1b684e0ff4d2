/**
 * Standard input as the MCP SDK's stdio transport reads it, minus lines too long to be a call gitbus could take.
 * The SDK's reader closes the whole transport when its buffer passes 10 MiB (one huge `dispatch` body ended the
 * server, and every gitbus tool with it for the client's session); here such a line is dropped as it streams,
 * keeping only its first and last few KiB, which are enough to find the request's id and answer it.
 */

/** Longer than any call gitbus can take: a bus file is at most 256 KiB, which JSON escaping may double or so. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How much of a dropped line's start and end is kept to find its id and method. */
const KEEP = 4096;

export interface DroppedLine {
  bytes: number;
  head: string;
  tail: string;
}

/**
 * Splits a byte stream into lines: each line of at most `max` bytes is passed on whole with its newline, each longer
 * one is reported to `dropped` instead. Holds at most `max` bytes of one line at a time. Pure but for the callbacks.
 */
export class LineGate {
  private parts: Buffer[] = [];
  private size = 0;
  /** Set while a line over the limit streams by. */
  private over: { head: Buffer; tail: Buffer; bytes: number } | null = null;

  constructor(
    private readonly pass: (line: Buffer) => void,
    private readonly dropped: (line: DroppedLine) => void,
    private readonly max = MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let rest = chunk;
    for (;;) {
      const nl = rest.indexOf(0x0a);
      if (nl < 0) {
        this.add(rest);
        return;
      }
      this.add(rest.subarray(0, nl + 1));
      this.endLine();
      rest = rest.subarray(nl + 1);
    }
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.over) {
      this.over.bytes += piece.length;
      this.over.tail = lastBytes(Buffer.concat([this.over.tail, piece]), KEEP);
      return;
    }
    if (this.size + piece.length <= this.max + 1) {
      this.parts.push(piece);
      this.size += piece.length;
      return;
    }
    const held = Buffer.concat([...this.parts, piece]);
    this.over = { head: held.subarray(0, KEEP), tail: lastBytes(held, KEEP), bytes: held.length };
    this.parts = [];
    this.size = 0;
  }

  private endLine(): void {
    if (this.over) {
      const o = this.over;
      this.over = null;
      this.dropped({ bytes: o.bytes - 1, head: o.head.toString('utf8'), tail: o.tail.toString('utf8').replace(/\r?\n$/, '') });
      return;
    }
    const line = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.pass(line);
  }
}

function lastBytes(b: Buffer, n: number): Buffer {
  // A copy: a view would keep the whole chunk it came from alive.
  return Buffer.from(b.subarray(Math.max(0, b.length - n)));
}

/**
 * A dropped line's JSON-RPC id and method, when its kept ends show them: clients write the id last (the SDK's) or
 * first, the method near the start. A key inside the params is not taken for the message's: the id must close the
 * line's outer object, or open it. Pure.
 */
export function idOfDropped(line: Pick<DroppedLine, 'head' | 'tail'>): { id: string | number | null; method: string | null } {
  const value = String.raw`(-?[0-9]{1,15}|"(?:[^"\\]|\\.){0,200}")`;
  const last = new RegExp(String.raw`[,{]\s*"id"\s*:\s*${value}\s*\}\s*$`).exec(line.tail);
  const first = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${value}\s*,`).exec(line.head);
  const raw = last?.[1] ?? first?.[1];
  let id: string | number | null = null;
  if (raw !== undefined) {
    try {
      id = JSON.parse(raw) as string | number;
    } catch {
      id = null;
    }
  }
  const method = /^\s*\{\s*(?:"(?:jsonrpc|id)"\s*:\s*(?:"[^"]*"|-?[0-9]+)\s*,\s*){0,2}"method"\s*:\s*"([a-z/_]{1,60})"/i.exec(line.head)?.[1] ?? null;
  return { id, method };
}
