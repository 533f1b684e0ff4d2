/**
 * The frames a served command's client and its standby process exchange on the watcher's socket (docs/ARCHITECTURE.md
 * "Commands served by the watcher"). A frame is one byte of kind, four bytes of length (big-endian) and that many
 * bytes: output and input are bytes as they are (a task's output need not be UTF-8), the rest a JSON document.
 * Pure: no I/O, so that both ends and the tests share it.
 */

/** What a frame carries. */
export const FRAME = {
  /** client: the command to run (ServeRequest, JSON) */
  request: 0x52, // R
  /** client: bytes of its standard input */
  input: 0x49, // I
  /** client: go ahead (after `accepted`): the standby runs nothing before it */
  go: 0x47, // G
  /** client: its standard input ended */
  inputEnd: 0x45, // E
  /** client: reading its standard input failed ({ code, message }, JSON): the command's read fails as in its own process */
  inputError: 0x46, // F
  /** client: a signal it received, to be raised in the standby ({ signal }, JSON) */
  signal: 0x53, // S
  /** standby: it runs the command ({ pid }, JSON) */
  accepted: 0x41, // A
  /** standby: it will not run it, the client runs it itself ({ reason }, JSON) */
  declined: 0x4e, // N
  /** standby: bytes for standard output */
  stdout: 0x4f, // O
  /** standby: bytes for standard error */
  stderr: 0x44, // D
  /** standby: the command reads standard input: send it */
  wantInput: 0x57, // W
  /** standby: the command stopped reading standard input (a prompt answered): stop reading the terminal */
  pauseInput: 0x50, // P
  /** standby: put the client's terminal in raw mode or back ({ raw }, JSON): a prompt without echo */
  rawMode: 0x4d, // M
  /** standby: the command ended ({ code }, JSON) */
  exit: 0x58, // X
} as const;

export interface Frame {
  kind: number;
  data: Buffer;
}

/** A frame longer than this is refused: the stream is not a gitbus client's or standby's. */
export const MAX_FRAME = 16 * 1024 * 1024;
/** Output is sent in frames of at most this many bytes, however much a command writes at once. */
export const OUTPUT_FRAME = 1024 * 1024;

export function encodeFrame(kind: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const head = Buffer.allocUnsafe(5);
  head[0] = kind;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

export function jsonFrame(kind: number, value: unknown): Buffer {
  return encodeFrame(kind, JSON.stringify(value));
}

/** Reads frames from a byte stream that arrives in pieces. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames that `chunk` completes; throws on a frame longer than MAX_FRAME (the stream is not ours). */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_FRAME) throw new Error(`a frame of ${len} bytes (at most ${MAX_FRAME})`);
      if (this.buf.length < 5 + len) break;
      frames.push({ kind: this.buf[0] as number, data: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return frames;
  }
}

/**
 * The read error an `inputError` frame carries, as the command's own read would have failed: an Error with the
 * errno code (EIO when the frame says none that looks like one).
 */
export function inputErrorOf(data: Buffer): NodeJS.ErrnoException {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    v = {};
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as { code?: unknown; message?: unknown };
  const code = typeof o.code === 'string' && /^E[A-Z0-9]{1,20}$/.test(o.code) ? o.code : 'EIO';
  const message = typeof o.message === 'string' && o.message !== '' ? o.message.slice(0, 500) : `${code}: standard input could not be read`;
  return Object.assign(new Error(message), { code, syscall: 'read' });
}

/** The command a client asks a standby to run: everything of its process that a command can see. */
export interface ServeRequest {
  v: 1;
  /** The command line after `gitbus`, global options already hoisted. */
  argv: string[];
  cwd: string;
  /** The working folder's device and inode (`dev:ino`), so that the standby runs in the same folder, not one of the same name. */
  cwdId: string;
  env: Record<string, string>;
  umask: number;
  /** The identity of the client's build (its bundles' files and Node's version): another build runs it itself. */
  build: string;
  stdout: { isTTY: boolean; columns?: number };
  stderr: { isTTY: boolean; columns?: number };
  /** Whether the client's standard input is a terminal: a prompt then asks there, through the standby. */
  stdin: { isTTY: boolean };
}

export function parseRequest(data: Buffer): ServeRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Partial<ServeRequest>;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((s) => typeof s === 'string');
  const env = r.env as unknown;
  const envOk = typeof env === 'object' && env !== null && Object.values(env).every((s) => typeof s === 'string');
  if (r.v !== 1 || !strings(r.argv) || typeof r.cwd !== 'string' || typeof r.cwdId !== 'string' || !envOk || typeof r.umask !== 'number' || typeof r.build !== 'string') return null;
  const stream = (s: unknown): { isTTY: boolean; columns?: number } => {
    const o = (typeof s === 'object' && s !== null ? s : {}) as { isTTY?: unknown; columns?: unknown };
    return { isTTY: o.isTTY === true, ...(typeof o.columns === 'number' && o.columns > 0 ? { columns: o.columns } : {}) };
  };
  return { v: 1, argv: r.argv, cwd: r.cwd, cwdId: r.cwdId, env: env as Record<string, string>, umask: r.umask, build: r.build, stdout: stream(r.stdout), stderr: stream(r.stderr), stdin: { isTTY: stream(r.stdin).isTTY } };
}
