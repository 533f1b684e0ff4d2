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

export function openEventStream(res: ServerResponse): EventStream {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  // Asks the browser to wait a little before it reconnects after the server went away.
  res.write('retry: 2000\n\n');
  let closed = false;
  const closers: (() => void)[] = [];
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
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
      if (!closed) res.write(`event: ${event}\ndata: ${visibleJson(data)}\n\n`);
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
