import { describe, expect, it } from 'vitest';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { MAX_UNSENT_BYTES, openEventStream } from '../../web/sse.js';
import { until } from '../helpers/wait.js';

/**
 * An event stream of the web view whose client does not read (web/sse.ts): before, every chunk was kept for it in
 * the server's memory (60 such clients of a task printing 3 MB a second held 1.1 GB). The stream is closed once it
 * has more than MAX_UNSENT_BYTES unsent and more to send, on a real server and a real socket that never reads.
 */
describe('an event stream whose client does not read', () => {
  it('is closed once it holds more than MAX_UNSENT_BYTES unsent, never holding much more', async () => {
    let most = 0;
    let sent = 0;
    let res: ServerResponse | null = null;
    const chunk = 'x'.repeat(1024 * 1024);
    const server = createServer((_req, r) => {
      res = r;
      const stream = openEventStream(r);
      const more = setInterval(() => {
        if (stream.closed || sent >= 64) {
          clearInterval(more);
          return;
        }
        stream.send('output', { text: chunk });
        sent++;
        most = Math.max(most, r.writableLength);
      }, 5);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      socket.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      // Reads nothing: what the server writes piles up in the socket's buffers, then in the response.
      socket.pause();
      await until('the stream to be closed', () => (res as ServerResponse | null)?.destroyed === true, 30_000, () => `sent ${sent} MiB, most unsent ${most}`);
      expect(sent).toBeLessThan(64);
      expect(most).toBeLessThanOrEqual(MAX_UNSENT_BYTES + 2 * 1024 * 1024);
    } finally {
      socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
