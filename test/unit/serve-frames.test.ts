import { describe, expect, it } from 'vitest';
import { FRAME, FrameReader, MAX_FRAME, encodeFrame, inputErrorOf, jsonFrame, parseRequest } from '../../cli/serve/frames.js';
import { homeOf, notServable, OWN_PROCESS_SOONER, ownProcessSooner } from '../../cli/serve/client.js';
import { socketPath } from '../../cli/serve/socket-path.js';
import { COMMANDS } from '../../cli/command-table.js';

describe('served command frames', () => {
  it('reads frames split anywhere, bytes as they are', () => {
    const bytes = Buffer.concat([encodeFrame(FRAME.stdout, Buffer.from([0xff, 0x00, 0x0a])), jsonFrame(FRAME.exit, { code: 3 })]);
    const reader = new FrameReader();
    const frames = [...bytes].flatMap((b) => reader.push(Buffer.from([b])));
    expect(frames.map((f) => f.kind)).toEqual([FRAME.stdout, FRAME.exit]);
    expect([...(frames[0]?.data ?? [])]).toEqual([0xff, 0x00, 0x0a]);
    expect(JSON.parse(frames[1]?.data.toString() ?? '')).toEqual({ code: 3 });
  });

  it('refuses a frame longer than the bound rather than buffering it', () => {
    const head = Buffer.alloc(5);
    head[0] = FRAME.request;
    head.writeUInt32BE(MAX_FRAME + 1, 1);
    expect(() => new FrameReader().push(head)).toThrow(/at most/);
  });

  it('accepts a well-formed request and nothing else', () => {
    const ok = { v: 1, argv: ['status'], cwd: '/tmp', cwdId: '1:2', env: { A: 'b' }, umask: 18, build: 'x', stdout: { isTTY: true, columns: 80 }, stderr: {} };
    expect(parseRequest(Buffer.from(JSON.stringify(ok)))).toEqual({ ...ok, stderr: { isTTY: false }, stdin: { isTTY: false } });
    expect(parseRequest(Buffer.from(JSON.stringify({ ...ok, stdin: { isTTY: true, columns: 3 } })))?.stdin).toEqual({ isTTY: true });
    for (const bad of ['nope', '[]', JSON.stringify({ ...ok, v: 2 }), JSON.stringify({ ...ok, env: { A: 1 } }), JSON.stringify({ ...ok, argv: [1] })]) {
      expect(parseRequest(Buffer.from(bad))).toBeNull();
    }
  });

  it("gives a failed read of the client's input as the read error its own process would see, whatever the frame holds", () => {
    const e = inputErrorOf(Buffer.from(JSON.stringify({ code: 'ECONNRESET', message: 'read ECONNRESET' })));
    expect([e instanceof Error, e.code, e.message, e.syscall]).toEqual([true, 'ECONNRESET', 'read ECONNRESET', 'read']);
    for (const bad of ['nope', '{}', JSON.stringify({ code: 'rm -rf /', message: 7 })]) {
      const b = inputErrorOf(Buffer.from(bad));
      expect([b.code, b.message]).toEqual(['EIO', 'EIO: standard input could not be read']);
    }
    expect(inputErrorOf(Buffer.from(JSON.stringify({ message: 'x'.repeat(9000) }))).message).toHaveLength(500);
  });
});

describe('which commands a client asks the watcher to serve', () => {
  it('only where its own process cannot start from its code cache, or with GITBUS_SERVE=1', () => {
    expect(ownProcessSooner({}, true)).toBe(OWN_PROCESS_SOONER);
    expect(ownProcessSooner({ GITBUS_SERVE: '' }, true)).toBe(OWN_PROCESS_SOONER);
    expect(ownProcessSooner({ GITBUS_SERVE: 'yes' }, true)).toBe(OWN_PROCESS_SOONER);
    expect(ownProcessSooner({ GITBUS_SERVE: '1' }, true)).toBeNull();
    expect(ownProcessSooner({}, false)).toBeNull();
    expect(ownProcessSooner({ GITBUS_SERVE: '1' }, false)).toBeNull();
  });
  const status = COMMANDS.find((c) => c.name === 'status');
  const lint = COMMANDS.find((c) => c.name === 'lint');
  it('only served commands, without Node options', () => {
    if (!status || !lint) throw new Error('the command table lacks status or lint');
    expect(notServable(status, ['status'], {}, [])).toBeNull();
    expect(notServable(status, ['status'], {}, ['--inspect'])).toBe('Node options are set');
    expect(notServable(lint, ['lint'], {}, [])).toBe('not a served command');
    expect(notServable(status, ['status'], { GITBUS_SERVE: '0' }, [])).toBe('GITBUS_SERVE=0');
    expect(notServable(status, ['status'], { NODE_OPTIONS: '--inspect' }, [])).toBe('Node options are set');
    // A terminal on standard input is served: a prompt asks there through the client (e2e/cli-served, ssh-login).
    // Help prints what the command's module registers, the same in a standby (cli-served compares the two).
    expect(notServable(status, ['status', '--help'], {}, [])).toBeNull();
    const dispatch = COMMANDS.find((c) => c.name === 'dispatch');
    if (!dispatch) throw new Error('no dispatch row');
    expect(notServable(dispatch, ['dispatch', 'x', '--body-file', '-'], {}, [])).toBe('standard input named as a file');
    expect(notServable(dispatch, ['dispatch', 'x', '--body-file', '/dev/stdin'], {}, [])).toBe('standard input named as a file');
    expect(notServable(dispatch, ['dispatch', '--from', '-'], {}, [])).toBeNull();
    expect(notServable(dispatch, ['dispatch', 'x', '--body-file=-'], {}, [])).toBe('standard input named as a file');
    expect(notServable(dispatch, ['dispatch', '--from=-'], {}, [])).toBeNull();
    // A shell's <(...) names the client's own descriptor, which the standby does not have.
    expect(notServable(dispatch, ['dispatch', '--from', '/dev/fd/63'], {}, [])).toBe('a file descriptor named as a file');
    expect(notServable(dispatch, ['dispatch', '--from=/proc/self/fd/5'], {}, [])).toBe('a file descriptor named as a file');
    expect(notServable(dispatch, ['dispatch', 'x', '--body-file', '/dev/fd/12'], {}, [])).toBe('a file descriptor named as a file');
    expect(notServable(dispatch, ['dispatch', '--from', '/tmp/dev/fd/3'], {}, [])).toBeNull();
  });

  it('the Claude Code hooks, but not the hour-long background wait', () => {
    const hook = COMMANDS.find((c) => c.name === 'hook');
    if (!hook) throw new Error('no hook row');
    for (const event of ['session-start', 'user-prompt-submit', 'stop']) expect(notServable(hook, ['hook', 'claude', event], {}, [])).toBeNull();
    expect(notServable(hook, ['hook', 'claude', 'wait'], {}, [])).toBe('not a served command');
  });

  it('finds the home as the command will: --home, then GITBUS_HOME, not what follows --', () => {
    expect(homeOf(['status', '--home', '/a/b'], { GITBUS_HOME: '/c' })).toBe('/a/b');
    expect(homeOf(['status', '--home=/a/d'], {})).toBe('/a/d');
    expect(homeOf(['status'], { GITBUS_HOME: '/c' })).toBe('/c');
    expect(homeOf(['run', 'n', '--', 'x', '--home', '/z'], { GITBUS_HOME: '/c' })).toBe('/c');
  });

  it('leaves a home whose socket path is too long unserved', () => {
    expect(socketPath('/short')).toBe('/short/cli.sock');
    expect(socketPath(`/${'x'.repeat(120)}`)).toBeNull();
  });
});

describe('the socket a client trusts', () => {
  it('is no reason to fail when the home is a file or missing: the command runs and says what is wrong', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { trustedSocket } = await import('../../cli/serve/client.js');
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-serve-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(trustedSocket(file)).toEqual({ reason: 'the socket: ENOTDIR' });
    expect(trustedSocket(join(dir, 'missing'))).toEqual({ reason: 'nothing serves this home (no watcher or gitbus serve runs)' });
    (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  });
});

describe("a standby's standard output", () => {
  it('goes out in frames of at most 1 MiB however much is written at once, and in order', async () => {
    const { relayStream } = await import('../../cli/serve/standby.js');
    const { OUTPUT_FRAME } = await import('../../cli/serve/frames.js');
    const sent: Buffer[] = [];
    const socket = { destroyed: false, writableEnded: false, write: (b: Buffer) => sent.push(b) };
    const out = relayStream(socket as never, FRAME.stdout, { isTTY: false });
    const big = Buffer.alloc(OUTPUT_FRAME * 2 + 5, 7);
    out.write(big);
    out.write('tail');
    const frames = new FrameReader().push(Buffer.concat(sent));
    expect(frames.map((f) => f.data.length)).toEqual([OUTPUT_FRAME, OUTPUT_FRAME, 5, 4]);
    expect(frames.every((f) => f.kind === FRAME.stdout)).toBe(true);
    expect(frames[3]?.data.toString()).toBe('tail');
  });
});

describe('the standby variable', () => {
  it('is the name cli/main.ts writes out', async () => {
    const { STANDBY_ENV } = await import('../../cli/serve/standby-env.js');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(new URL('../../cli/main.ts', import.meta.url), 'utf8')).toContain(`process.env['${STANDBY_ENV}'] === '1'`);
  });
});
