import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CLI, neutralCwd } from '../helpers/cli.js';
import { now, trustFleet } from '../helpers/trust-fleet.js';
import { mcpServerEnv } from '../helpers/mcp-server.js';

/**
 * `gitbus mcp` on a bus with a pinned trust root (the fleet of test/helpers/trust-fleet.ts: admin alice, node w
 * pinned and listed; the server on boss's home, which pinned it too), driven by the MCP SDK's client. What status
 * and show add under trust (the version enforced, files forged in a node's name, handoffs this node will not run)
 * is declared by their output schemas, as a client that checks a result against its schema needs it.
 */

type Json = Record<string, unknown>;
const fleet = trustFleet(['w']);
let client: Client;
let tools: Tool[];
let serverLog = '';

beforeAll(async () => {
  const { boss } = await fleet.setUp();
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: mcpServerEnv(boss), cwd: neutralCwd(), stderr: 'pipe' });
  transport.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  client = new Client({ name: 'gitbus-test', version: '1.0.0' });
  await client.connect(transport);
  ({ tools } = await client.listTools());
}, 60_000);

afterAll(async () => {
  await client?.close();
  await fleet.tearDown();
});

/**
 * Where `value` has a property its JSON Schema does not describe (`tasks[].untrusted`): what a client that refuses
 * undescribed properties would refuse. A property is described by `properties`, or by an `additionalProperties`
 * schema (a record's).
 */
function undeclared(value: unknown, schema: Json, at = ''): string[] {
  const branches = schema['anyOf'] as Json[] | undefined;
  if (branches) return [...new Set(branches.filter((b) => b['type'] !== 'null').flatMap((b) => (value === null ? [] : undeclared(value, b, at))))];
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => undeclared(v, (schema['items'] ?? {}) as Json, `${at}[]`)))];
  if (value === null || typeof value !== 'object') return [];
  const props = (schema['properties'] ?? {}) as Record<string, Json>;
  const extra = schema['additionalProperties'];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = at ? `${at}.${k}` : k;
    const sub = props[k] ?? (typeof extra === 'object' && extra !== null ? (extra as Json) : undefined);
    return sub ? undeclared(v, sub, path) : [path];
  });
}

const ajv = new AjvJsonSchemaValidator();

/** A call's structured result, valid against the tool's published output schema, and with nothing that schema does not declare. */
async function checked(name: string, args: Json): Promise<Json> {
  const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 45_000 })) as CallToolResult;
  expect(r.isError, `${name}: ${JSON.stringify(r.content)}\nserver log:\n${serverLog}`).toBeFalsy();
  const schema = tools.find((t) => t.name === name)?.outputSchema;
  expect(schema).toBeDefined();
  const out = r.structuredContent as Json;
  expect(ajv.getValidator(schema as never)(out)).toMatchObject({ valid: true });
  expect(undeclared(out, schema as Json), `${name}: properties its output schema does not declare`).toEqual([]);
  return out;
}

describe('gitbus mcp on a bus with a pinned trust root', () => {
  it("status and show declare what trust adds: the version enforced, files forged in a node's name, and why a handoff is untrusted", async () => {
    fleet.push({
      'handoffs/unsigned-task.md': '---\ntitle: unsigned\nfrom: boss\nto: w\nrunner: shell\ncommand: "true"\n---\n## Task\n\nnothing\n',
      'claims/unsigned-task.1.md': `---\nid: unsigned-task\nattempt: 1\nnode: w\nclaimed: ${now()}\n---\n`,
    }, 'an unsigned handoff and a claim forged in the name of w');

    const s = await checked('status', {});
    expect(s['trust']).toEqual({ version: expect.any(Number) });
    expect(s['forged']).toEqual([expect.objectContaining({ path: 'claims/unsigned-task.1.md', kind: 'claim', id: 'unsigned-task', node: 'w', reason: expect.stringMatching(/^forged in the name of node w: it is not signed/) })]);
    expect(s['tasks']).toContainEqual(expect.objectContaining({ id: 'unsigned-task', state: 'pending', untrusted: expect.stringMatching(/^unsigned: handoffs\/unsigned-task\.md has no signature/) }));

    const shown = await checked('show', { id: 'unsigned-task' });
    expect(shown['forged']).toEqual([expect.objectContaining({ path: 'claims/unsigned-task.1.md' })]);
  });
});
