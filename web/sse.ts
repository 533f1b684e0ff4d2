import type { ServerResponse } from 'node:http';
import { SECURITY_HEADERS, visibleJson } from './security.js';

/** One server-sent-events answer (text/event-stream) kept open until either side ends it. */
export interface EventStream {
  send(event: string, data: unknown): void;
  close(): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

/** A comment line every this often keeps proxies and the browser from giving up on a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * The most a stream may have left unsent when it has more to send: room for a task's output window (8 MiB of log,
 * sent whole when a page joins, up to twice that as JSON) and the chunks after it, far less than what a client
 * that never reads would otherwise pile up in this process, a copy of every chunk (60 such connections held
 * 1.1 GB). Past it the connection is closed; a browser's EventSource connects again and gets the output so far.
 */
export const MAX_UNSENT_BYTES = 24 * 1024 * 1024;

export function openEventStream(res: ServerResponse): EventStream {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  // Asks the browser to wait a little before it reconnects after the server went away.
  res.write('retry: 2000\n\n');
  let closed = false;
  const closers: (() => void)[] = [];
  // Judged before each write, so that one large first answer (the output so far) always goes out.
  const write = (text: string) => {
    if (res.writableLength > MAX_UNSENT_BYTES) res.destroy();
    else res.write(text);
  };
  const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    for (const fn of closers) fn();
  };
  res.on('close', finish);
  return {
    // JSON never holds a raw line break, so one data line carries any value whole.
    send: (event, data) => {
      if (!closed) write(`event: ${event}\ndata: ${visibleJson(data)}\n\n`);
    },
    close: () => {
      finish();
      res.end();
    },
    get closed() {
      return closed;
    },
    onClose: (fn) => {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}
