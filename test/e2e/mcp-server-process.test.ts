import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CLI, ROOT, gitCli, gitbus, neutralCwd, spawnBounded, tempDir, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { mcpServerEnv as serverEnv } from '../helpers/mcp-server.js';

/**
 * `gitbus mcp` where its bus is not there to serve it: a home without a bus, a remote that takes connections and
 * never answers, and a server registered and connected to by the real `claude` CLI on a home of its own. Each case
 * starts its own server process (test/e2e/mcp.test.ts drives one shared server through the tools).
 */

type Json = Record<string, unknown>;
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('gitbus mcp without a bus to serve', () => {
  it('on a home without a bus it starts, and a call says how to make one or start the server on another home, not a CLI flag', async () => {
    const empty = await tempDir('gitbus-mcp-no-bus-');
    cleanups.push(empty.cleanup);
    const rpc = (id: number | null, method: string, params: Json) => JSON.stringify({ jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params });
    const input = [
      rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }),
      rpc(null, 'notifications/initialized', {}),
      rpc(2, 'tools/call', { name: 'status', arguments: {} }),
    ];
    const r = await spawnBounded(process.execPath, [CLI, 'mcp'], { cwd: neutralCwd(), env: serverEnv(join(empty.path, 'home')), input: `${input.join('\n')}\n`, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const answer = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; result: CallToolResult }).find((a) => a.id === 2);
    expect(answer?.result.isError).toBe(true);
    expect((answer?.result.content[0] as { text: string }).text).toBe(
      `NO_BUS: no bus at ${join(empty.path, 'home')}\nfix: run "gitbus init" to create a bus or "gitbus join URL" to join one (or start the server on another home: claude mcp add gitbus -e GITBUS_HOME=PATH -- gitbus mcp)`,
    );
  });

  it('the real `claude mcp add` registers it, and `claude mcp list` connects to it', async () => {
    const home = await tempDir('gitbus-mcp-claude-home-');
    cleanups.push(home.cleanup);
    const claude = async (args: string[]): Promise<RunResult> => {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home.path, CLAUDE_CONFIG_DIR: join(home.path, '.claude'), DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' };
      for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_BASE_URL']) delete env[k];
      // As in claude-cli.test.ts: npm may skip the package's postinstall (the native binary); its wrapper works either way.
      const direct = await spawnBounded(join(ROOT, 'node_modules/.bin/claude'), args, { cwd: home.path, env, timeoutMs: 60_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
      if (direct.code !== -1 && !/postinstall|placeholder/i.test(direct.stderr)) return direct;
      return spawnBounded(process.execPath, [join(ROOT, 'node_modules/@anthropic-ai/claude-code/cli-wrapper.cjs'), ...args], { cwd: home.path, env, timeoutMs: 60_000 });
    };
    const add = await claude(['mcp', 'add', 'gitbus', '-e', `GITBUS_HOME=${join(home.path, 'gitbus')}`, '--', process.execPath, CLI, 'mcp']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('Added stdio MCP server gitbus');
    const list = await claude(['mcp', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/gitbus: .* mcp - ✔ Connected/);
  });
});

describe('gitbus mcp whose home is removed while it runs', () => {
  it('says there is no bus there, claims nothing and makes nothing there, and serves the node joined there again', async () => {
    const b = await makeBus({ node: 'alpha' });
    cleanups.push(b.cleanup);
    const home = await b.addNode('tmpnode', [], ['--runner', 'shell']);
    const id = await b.dispatch('alpha', ['for anyone', '--command', 'true']);
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: serverEnv(home), cwd: neutralCwd(), stderr: 'pipe' });
    const c = new Client({ name: 'gitbus-test', version: '1.0.0' });
    await c.connect(transport);
    try {
      const call = async (name: string, args: Json) => (await c.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
      expect((await call('status', {})).isError).toBeFalsy();
      renameSync(home, `${home}.removed`);
      rmSync(`${home}.removed`, { recursive: true, force: true, maxRetries: 5 });
      // The bus it had open would have claimed the task as tmpnode, and cloned into the removed home again.
      const claimed = await call('claim_next', {});
      expect(claimed.isError).toBe(true);
      expect((claimed.content[0] as { text: string }).text).toMatch(/^NO_BUS: no bus at /);
      expect(existsSync(home)).toBe(false);
      expect(gitCli(['--git-dir', b.remote, 'ls-tree', '-r', '--name-only', 'main'])).not.toContain(`claims/${id}`);
      // A node joined there since (tmpnode is still on the bus, so under another name): the server serves it.
      const j = await gitbus(['join', b.remote, '--node', 'tmpnode2', '--json'], { home });
      expect(j.code, j.stderr).toBe(0);
      const again = await call('status', {});
      expect(again.isError, JSON.stringify(again.content)).toBeFalsy();
      expect(again.structuredContent).toMatchObject({ node: 'tmpnode2' });
    } finally {
      await c.close();
    }
  });
});

describe('gitbus mcp with a remote that takes connections and never answers', () => {
  it('answers from the last known state within seconds, saying so; wait returns by its timeout; the server stops at once', async () => {
    const silent = createServer(() => {
      // Takes the connection and says nothing, as a remote whose answers are dropped on the way back.
    });
    const sockets: Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const b = await makeBus({ node: 'gamma' });
    let c: Client | undefined;
    try {
      const id = await b.dispatch('gamma', ['known before the outage', '--runner', 'manual', '--label', 'nobody-has-this', '--force']);
      const yaml = join(b.home('gamma'), 'node.yaml');
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^remote: .*$/m, `remote: http://127.0.0.1:${port}/bus.git`));
      const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: serverEnv(b.home('gamma')), cwd: neutralCwd(), stderr: 'pipe' });
      let log = '';
      transport.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      c = new Client({ name: 'gitbus-test', version: '1.0.0' });
      await c.connect(transport);
      const timed = async (name: string, args: Json) => {
        const t0 = Date.now();
        const r = (await c?.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
        expect(r.isError, `${name}: ${JSON.stringify(r.content)}\n${log}`).toBeFalsy();
        return { ms: Date.now() - t0, out: r.structuredContent as Json };
      };
      const first = await timed('status', {});
      expect(first.ms).toBeLessThan(10_000);
      expect(first.out['offline']).toMatchObject({ code: 'TRANSPORT_TIMEOUT' });
      expect(first.out['tasks']).toContainEqual(expect.objectContaining({ id, state: 'pending' }));
      // The outage is remembered: the next calls do not wait for the remote again.
      const again = await timed('show', { id });
      expect(again.ms).toBeLessThan(2_500);
      expect(again.out).toMatchObject({ id, state: 'pending', offline: { code: 'TRANSPORT_TIMEOUT' } });
      const w = await timed('wait', { id, timeout: '3s' });
      expect(w.ms).toBeLessThan(8_000);
      expect(w.out).toMatchObject({ id, ended: false, state: 'pending', offline: { code: 'TRANSPORT_TIMEOUT' } });
      const t0 = Date.now();
      await c.close();
      c = undefined;
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await c?.close();
      for (const s of sockets) s.destroy();
      silent.close();
      await b.cleanup();
    }
  });
});
