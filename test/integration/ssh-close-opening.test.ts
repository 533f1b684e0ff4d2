import { createServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SshTransport } from '../../bus/transport/ssh.js';
import { tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/**
 * A remote that takes the TCP connection and never says a word (a host behind a stuck proxy): a command that gives
 * its listing a few seconds (a Claude Code hook) closes the transport and goes on. Before, closing left the socket of
 * the connection still being made open until the handshake timed out (ConnectTimeout, 20 s by default), and so kept
 * the hook's process alive past Claude Code's hook timeout. A real TCP listener on loopback; no sshd is needed, since
 * nothing past the TCP connection happens.
 */
describe('an SSH connection still being made, closed', () => {
  it('destroys its socket at once: the listing fails and the server sees the connection end, long before ConnectTimeout', async () => {
    const accepted: Socket[] = [];
    let ended = 0;
    const server = createServer((s) => {
      accepted.push(s);
      s.on('close', () => ended++);
      s.on('error', () => undefined);
      // Read (and drop) what the client says, so that its end is seen.
      s.resume();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const tmp = await tempDir('ssh-opening');
    const dir = tmp.path;
    const config = join(dir, 'ssh_config');
    // A handshake timeout far beyond the test's bound: only the close can end it in time.
    writeFileSync(config, `Host silent\n  HostName 127.0.0.1\n  Port ${port}\n  User git\n  ConnectTimeout 300\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n`);
    const t = new SshTransport('silent:/srv/bus.git', { configFiles: [config], env: { HOME: dir } });
    try {
      const listing = t.listRefs().then(
        () => 'listed',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      await until('the server to take the connection', () => accepted.length === 1, 15_000);
      await t.close();
      const said = await Promise.race([listing, new Promise<string>((r) => setTimeout(() => r('still waiting after 30 s'), 30_000))]);
      expect(said).not.toBe('listed');
      expect(said).not.toBe('still waiting after 30 s');
      await until('the server to see the connection end', () => ended === accepted.length, 15_000, () => `accepted ${accepted.length}, ended ${ended}, said ${said}`);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await tmp.cleanup();
    }
  });
});
