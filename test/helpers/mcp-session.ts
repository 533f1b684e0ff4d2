import { afterAll, beforeAll, expect } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { CLI, gitCli, neutralCwd, tempDir } from './cli.js';
import { makeBus } from './bus.js';
import { startWatcher } from './watcher-process.js';
import { until } from './wait.js';
import { mcpServerEnv as serverEnv } from './mcp-server.js';

/**
 * `gitbus mcp` driven by the MCP SDK's own client over stdio, as Claude Code drives it: the server is the compiled
 * CLI as a process, on node alpha's home; node beta is on the bus, and with `watcher` runs a watcher as another
 * process. The client checks every structured result against the tool's output schema (it does so itself), and any
 * line on the server's standard output that is not the protocol would reach `onerror`. Call in a test file's top
 * level: it registers the file's beforeAll and afterAll.
 */

export type Json = Record<string, unknown>;

/**
 * `betaRunners`: what node beta offers (default: shell); `watcherEnv`: its watcher's environment beyond the test's,
 * from the bus's folder (a claude stand-in's sessions, say).
 */
export function mcpSession(opts: { watcher: boolean; betaRunners?: string[]; watcherEnv?: (busDir: string) => NodeJS.ProcessEnv }) {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let bus: Awaited<ReturnType<typeof makeBus>> | undefined;
  let client: Client | undefined;
  const protocolErrors: Error[] = [];
  /**
   * Every message from the server in the order it arrived on the wire. The SDK client (1.32) hands notifications to
   * their handlers a microtask later than responses, so a progress report that arrives in the same read as its call's
   * answer reaches a handler already removed: "Received a progress notification for an unknown token", a known race
   * servers cannot avoid (modelcontextprotocol/typescript-sdk#2580). What the server guarantees — every report of a
   * call written before its answer — is checked on the wire (writtenBeforeItsAnswer).
   */
  const wire: { method?: string; id?: unknown; params?: { progressToken?: unknown; message?: string } }[] = [];
  const log = { server: '' };

  beforeAll(async () => {
    const b = await makeBus({ node: 'alpha' });
    bus = b;
    cleanups.push(b.cleanup);
    const beta = await b.addNode('beta', [], (opts.betaRunners ?? ['shell']).flatMap((r) => ['--runner', r]));
    const watcher = opts.watcher ? startWatcher(beta, ['--poll', '1s'], children, opts.watcherEnv?.(b.dir) ?? {}) : null;
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: serverEnv(b.home('alpha')), cwd: neutralCwd(), stderr: 'pipe' });
    transport.stderr?.on('data', (d: Buffer) => (log.server += d.toString()));
    const c = new Client({ name: 'gitbus-test', version: '1.0.0' });
    client = c;
    c.onerror = (e) => protocolErrors.push(e);
    await c.connect(transport);
    const deliver = transport.onmessage;
    transport.onmessage = (m) => {
      wire.push(m as (typeof wire)[number]);
      deliver?.(m);
    };
    if (watcher) await until('the watcher on beta to start', () => watcher.events().some((e) => e.type === 'started'), 30_000, watcher.stderr);
  });

  afterAll(async () => {
    await client?.close();
    for (const c of children) c.kill('SIGKILL');
    for (const c of cleanups) await c();
  });

  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the MCP session has no ${what} yet (its beforeAll has not run)`);
    return v;
  };

  async function call(name: string, args: Json, onprogress?: (p: Progress) => void): Promise<CallToolResult> {
    return (await ready(client, 'client').callTool({ name, arguments: args }, undefined, { timeout: 45_000, ...(onprogress ? { onprogress } : {}) })) as CallToolResult;
  }

  /** A successful call's structured result. */
  async function ok<T = Json>(name: string, args: Json, onprogress?: (p: Progress) => void): Promise<T> {
    const r = await call(name, args, onprogress);
    expect(r.isError, `${name}: ${JSON.stringify(r.content)}\nserver log:\n${log.server}`).toBeFalsy();
    // The text is the same result as JSON, for clients that read only text.
    expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(r.structuredContent);
    return r.structuredContent as T;
  }

  /** Whether `e` is the SDK client's late dispatch of a progress report that the server wrote before its call's answer. */
  function writtenBeforeItsAnswer(e: Error): boolean {
    const m = /^Received a progress notification for an unknown token: (\{.*\})$/.exec(e.message);
    if (!m) return false;
    const n = JSON.parse(m[1] ?? '{}') as { params?: { progressToken?: unknown; progress?: unknown } };
    const at = wire.findIndex((w) => w.method === 'notifications/progress' && w.params?.progressToken === n.params?.progressToken && (w.params as { progress?: unknown }).progress === n.params?.progress);
    const answer = wire.findIndex((w) => w.id === n.params?.progressToken && w.method === undefined);
    return at >= 0 && answer > at;
  }

  /** Files pushed to the bus's main with plain git, as anyone with push access could (paths in the bus, their text). */
  async function plant(files: Record<string, string | Buffer>, message: string): Promise<void> {
    const work = await tempDir('gitbus-mcp-plant-');
    cleanups.push(work.cleanup);
    gitCli(['clone', '-q', ready(bus, 'bus').remote, work.path]);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work.path, path)), { recursive: true });
      writeFileSync(join(work.path, path), text);
    }
    gitCli(['add', '-A'], work.path);
    gitCli(['commit', '-q', '-m', message], work.path);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work.path);
  }

  function errorText(r: CallToolResult): string {
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    return (r.content[0] as { text: string }).text;
  }

  return {
    bus: () => ready(bus, 'bus'),
    client: () => ready(client, 'client'),
    serverLog: () => log.server,
    children,
    cleanups,
    protocolErrors,
    wire,
    call,
    ok,
    plant,
    errorText,
    writtenBeforeItsAnswer,
  };
}
