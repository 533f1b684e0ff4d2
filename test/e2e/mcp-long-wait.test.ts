import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { CLI, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { mcpServerEnv as serverEnv } from '../helpers/mcp-server.js';

/**
 * A `wait` longer than the client's request timeout, with the MCP SDK's own client: the SDK gives up on a call after
 * its timeout (60 s by default) unless progress resets it, then cancels the call. The server here reports where a
 * quiet task stands every second (GITBUS_MCP_PROGRESS_EVERY; 15 s by default), and the client's timeout is 3 s.
 */

type Json = Record<string, unknown>;
const CLIENT_TIMEOUT_MS = 3_000;

let bus: Awaited<ReturnType<typeof makeBus>>;
let client: Client;
let serverLog = '';
const protocolErrors: Error[] = [];

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: { ...serverEnv(bus.home('alpha')), GITBUS_MCP_PROGRESS_EVERY: '1s' }, cwd: neutralCwd(), stderr: 'pipe' });
  transport.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  client = new Client({ name: 'gitbus-test', version: '1.0.0' });
  client.onerror = (e) => protocolErrors.push(e);
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  await bus?.cleanup();
});

async function ok<T = Json>(name: string, args: Json): Promise<T> {
  const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
  expect(r.isError, `${name}: ${JSON.stringify(r.content)}\nserver log:\n${serverLog}`).toBeFalsy();
  return r.structuredContent as T;
}

/** A call's end as a value, so that a test can watch for it while it waits for something else. */
function settled<T>(p: Promise<T>): { result: () => { value?: T; error?: unknown } | undefined } {
  let done: { value?: T; error?: unknown } | undefined;
  p.then(
    (value) => (done = { value }),
    (error: unknown) => (done = { error }),
  );
  return { result: () => done };
}

describe('a long wait over MCP', () => {
  it("the wait tool's description gives the interval of the server's reports, as its environment set it", async () => {
    const wait = (await client.listTools()).tools.find((t) => t.name === 'wait');
    expect(wait?.description).toContain('after each 1s without news where the task stands');
    expect(wait?.description).not.toContain('15');
  });

  it('outlives a client timeout that progress resets: the server says where the task stands while nothing changes, and the wait returns its end', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'answered by hand later', to: 'alpha', runner: 'manual' });
    const progress: Progress[] = [];
    const started = Date.now();
    const waiting = settled(
      client.callTool({ name: 'wait', arguments: { id: d.id, timeout: '1m' } }, undefined, { timeout: CLIENT_TIMEOUT_MS, resetTimeoutOnProgress: true, onprogress: (p) => progress.push(p) }),
    );
    const stillPending = new RegExp(`^${d.id}: pending; waited ([0-9]+)s of 1m$`);
    const waitedSeconds = () => Math.max(0, ...progress.map((p) => Number(stillPending.exec(p.message ?? '')?.[1] ?? 0)));
    // Well past the client's own timeout, with nothing but the server's reports to keep it waiting.
    await until(`the server to report the task still pending after ${CLIENT_TIMEOUT_MS / 1000 + 2} s`, () => {
      const r = waiting.result();
      if (r) throw new Error(`the wait ended early: ${JSON.stringify(r.value ?? String(r.error))}\nserver log:\n${serverLog}`);
      return waitedSeconds() >= CLIENT_TIMEOUT_MS / 1000 + 2;
    }, 30_000, () => JSON.stringify(progress));

    const claimed = await ok<Json>('claim_next', {});
    expect(claimed).toMatchObject({ claimed: true, id: d.id });
    await ok('respond', { id: d.id, status: 'succeeded', summary: 'done by hand' });
    await until('the wait to return', () => waiting.result() !== undefined, 30_000, () => serverLog);
    const r = waiting.result();
    expect(r?.error, serverLog).toBeUndefined();
    expect((r?.value as CallToolResult).structuredContent).toMatchObject({ id: d.id, ended: true, state: 'succeeded', summary: 'done by hand' });
    expect(Date.now() - started).toBeGreaterThan(CLIENT_TIMEOUT_MS + 2_000);
    const messages = progress.map((p) => p.message ?? '');
    expect(messages[0]).toBe(`${d.id}: pending`);
    expect(messages).toContain(`${d.id}: succeeded on alpha (attempt 1)`);
    // Only the SDK client's late dispatch of a report written just before the answer (see mcp.test.ts), nothing else.
    expect(protocolErrors.filter((e) => !e.message.startsWith('Received a progress notification for an unknown token'))).toEqual([]);
  });

  it('stops waiting on the server when the client cancels the call, or gives up on it at its timeout, and serves on', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'nobody takes this', to: 'alpha', runner: 'manual', labels: ['nobody-has-this'], force: true });
    const cancelled = /gitbus mcp: wait \(request \d+\) was cancelled by the client \(([^)]*)\); it stopped after ([0-9.]+) s/g;
    const stops = () => [...serverLog.matchAll(cancelled)].map((m) => ({ reason: m[1] ?? '', after: Number(m[2]) }));

    const abort = new AbortController();
    const progress: Progress[] = [];
    const call = settled(client.callTool({ name: 'wait', arguments: { id: d.id, timeout: '1h' } }, undefined, { signal: abort.signal, timeout: 30_000, resetTimeoutOnProgress: true, onprogress: (p) => progress.push(p) }));
    await until('the wait to begin on the server', () => progress.length > 0, 30_000, () => serverLog);
    abort.abort();
    await until('the client to drop the call', () => call.result() !== undefined, 10_000);
    expect(String(call.result()?.error)).toMatch(/abort/i);
    // The server's wait for an hour ends within its next poll, not at its timeout.
    await until('the server to stop the cancelled wait', () => stops().length === 1, 15_000, () => serverLog);
    expect(stops()[0]?.after).toBeLessThan(15);

    // A client without a progress token whose timeout runs out cancels the call: the server stops waiting too.
    const gaveUp = settled(client.callTool({ name: 'wait', arguments: { id: d.id, timeout: '1h' } }, undefined, { timeout: 2_000 }));
    await until('the client to give up at its timeout', () => gaveUp.result() !== undefined, 15_000);
    expect(String(gaveUp.result()?.error)).toMatch(/Request timed out/);
    await until('the server to stop the wait the client gave up on', () => stops().length === 2, 15_000, () => serverLog);
    expect(stops()[1]?.reason).toMatch(/Request timed out/);

    expect(await ok<Json>('wait', { id: d.id, timeout: '0s' })).toMatchObject({ id: d.id, ended: false, state: 'pending' });
  });

  it('refuses a wait longer than an hour, which nobody might read to its end, naming the argument and the fix', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'waited on too long', to: 'alpha', runner: 'manual' });
    const r = (await client.callTool({ name: 'wait', arguments: { id: d.id, timeout: '61m' } }, undefined, { timeout: 30_000 })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(r._meta?.['gitbus/error']).toMatchObject({
      code: 'BAD_INPUT',
      data: { problems: [{ field: 'timeout', reason: '61m is longer than the 1h one call may wait', fix: 'wait at most 1h, and call wait again while ended is false' }] },
    });
    const wait = (await client.listTools()).tools.find((t) => t.name === 'wait');
    expect(JSON.stringify(wait?.inputSchema)).toContain('at most 1h');
  });
});
