import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { gitbus, json, tempDir } from '../helpers/cli.js';

type ErrorJson = { error: { code: string; message: string; fix: string; data: Record<string, unknown> } };

/**
 * An http remote that takes the connection and never answers (a firewall or a proxy that drops what comes back):
 * a command waited the whole exchange's bound (120 s) before it failed. It now gives up after GITBUS_HTTP_TIMEOUT
 * of silence (default 20s), set short here.
 */
describe('a command against an http remote that takes the connection and never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let url: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/bus.git`;
    dir = await tempDir('gitbus-http-silent-');
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    silent?.close();
    await dir?.cleanup();
  });

  it('fails after the silence bound, naming the remote, what happened and the setting that gives it longer; exit 6', async () => {
    const started = Date.now();
    const r = await gitbus(['join', url, '--node', 'late'], { home: join(dir.path, 'home-a'), env: { GITBUS_HTTP_TIMEOUT: '1s' }, process: true, timeoutMs: 60_000 });
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(6);
    expect(sockets.size, 'the command reached the listener').toBeGreaterThan(0);
    // Bounded by the setting, far from the whole exchange's 120 s (a process's start and a slow machine allowed for).
    expect(took).toBeLessThan(20_000);
    expect(r.stderr).toContain(`gitbus: could not reach the remote ${url}: no answer within 1s to the ref advertisement (the server took the connection and sent nothing)`);
    expect(r.stderr).toMatch(/fix: check the URL and that the git server behind it answers.*GITBUS_HTTP_TIMEOUT=<duration> \(now 1s, default 20s\)/);

    const asJson = await gitbus(['join', url, '--node', 'late', '--json'], { home: join(dir.path, 'home-b'), env: { GITBUS_HTTP_TIMEOUT: '1500ms' }, process: true, timeoutMs: 60_000 });
    expect(asJson.code, asJson.stderr).toBe(6);
    expect(json<ErrorJson>(asJson).error).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { url, silentMs: 1500 }, fix: expect.stringContaining('GITBUS_HTTP_TIMEOUT') });
  });

  it('refuses a GITBUS_HTTP_TIMEOUT that is not a duration, naming it and the fix', async () => {
    const r = await gitbus(['join', url, '--node', 'late'], { home: join(dir.path, 'home-c'), env: { GITBUS_HTTP_TIMEOUT: 'soon' }, process: true, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('GITBUS_HTTP_TIMEOUT is "soon", which is not a duration');
    expect(r.stderr).toContain('fix: set it to how long an http(s) remote may send nothing before a command gives up, as a duration such as 60s (default 20s), or unset it');
  });
});
