import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, gitbus, json, neutralCwd } from '../helpers/cli.js';
import { mcpServerEnv } from '../helpers/mcp-server.js';
import { NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { trustFleet, type FleetBus } from '../helpers/trust-fleet.js';
import { spawnUi } from '../helpers/web-ui.js';

/**
 * The verdict a node that pinned the trust root gives on the handoff of a task that never runs as it stands, however
 * it is signed: a schedule's template (its instances run, each judged when a watcher makes it), an invalid task (its
 * handoff breaks the schema) and one written for a newer protocol. Each says so, not "this node would run it",
 * alike in `show` (text, --json), `verify`, MCP `show` and the web view's task JSON. The fleet of
 * test/helpers/trust-fleet.ts: admin alice signs the root and the boss's dispatches; w pinned it.
 */
const fleet = trustFleet(['w']);
let bus: FleetBus;
let w: string;
let version = 0;
const ids: Record<string, string> = {};
const id = (name: string): string => ids[name] ?? '';

interface Verdict { version?: number; trusted: boolean; reason: string; fix?: string; signer?: { principals: string[]; fingerprint: string }; notForThisNode?: true }
interface Shown { id: string; state: string; trust?: Verdict }
const show = async (ref: string) => json<Shown>(await gitbus(['show', ref, '--json'], { home: w }));
const verify = async (ref: string) => json<{ files: { path: string; verdict: Verdict | null }[] }>(await gitbus(['verify', ref, '--json'], { home: w })).files.find((f) => f.path.startsWith('handoffs/'))?.verdict;
const TEMPLATE = /^it is a schedule's template: it never runs itself; each instance is judged when it is made; /;

beforeAll(async () => {
  ({ bus } = await fleet.setUp());
  w = bus.home('w');
  version = (await fleet.status(w) as unknown as { trust: { version: number } }).trust.version;
  // Due once a year: no watcher runs here, and none would make an instance during the test.
  ids['template'] = await fleet.dispatch('nightly', 'true', 'w', ['--schedule', '0 0 1 1 *']);
  const unsigned = await gitbus(['dispatch', 'unsigned nightly', '--command', 'true', '--to', 'w', '--schedule', '0 0 1 1 *', '--unsigned', '--json', '--no-git'], { home: bus.home('boss'), env: NO_GIT_KEY });
  expect(unsigned.code, unsigned.stderr).toBe(0);
  ids['unsignedTemplate'] = json<{ id: string }>(unsigned).id;
  fleet.push({
    'handoffs/bad-field.md': '---\ntitle: odd\npriority: high\nto: w\ncommand: "true"\n---\n',
    'handoffs/newer.md': '---\nprotocol: 9\ntitle: from the future\nto: w\ncommand: "true"\n---\n',
  }, 'an invalid handoff, and one of a newer protocol');
}, 90_000);

afterAll(fleet.tearDown);

describe('the verdict on a handoff that never runs as it stands', () => {
  it("a schedule's template says it never runs itself, then how its signature stands, in show and verify alike", async () => {
    const alice = { principals: ['alice'], fingerprint: fleet.fp('alice') };
    const shown = await show(id('template'));
    expect(shown.state).toBe('scheduled');
    expect(shown.trust).toEqual({ version, trusted: false, notForThisNode: true, reason: expect.stringMatching(new RegExp(`${TEMPLATE.source}signed by alice \\(SHA256:\\S+\\), allowed by rule 1$`)), signer: alice });
    const { version: _v, ...verdict } = shown.trust ?? { version: 0 };
    expect(await verify(id('template'))).toEqual(verdict);
    const text = (await gitbus(['show', id('template')], { home: w })).stdout;
    expect(text).toContain(`\ntrust (version ${version}): not for this node: it is a schedule's template: it never runs itself; each instance is judged when it is made; signed by alice (${fleet.fp('alice')}), allowed by rule 1\n`);
    expect(text).not.toContain('would run it');
    // Unsigned: the template's own verdict is what its instances would inherit, so it is said with its fix.
    expect((await show(id('unsignedTemplate'))).trust).toMatchObject({ trusted: false, notForThisNode: true, reason: expect.stringMatching(new RegExp(`${TEMPLATE.source}and its handoff is untrusted: unsigned: `)), fix: expect.stringContaining('gitbus sign') });
  });

  it('an invalid task says no node runs it until its handoff is fixed, and one of a newer protocol that this gitbus does not run it', async () => {
    const invalid = await show('bad-field');
    expect(invalid.state).toBe('invalid');
    expect(invalid.trust).toEqual({ version, trusted: false, notForThisNode: true, reason: 'it is invalid: no node runs it until the problems of its handoff are fixed (handoffs/bad-field.md (priority): expected a whole number from -1000 to 1000, got the text "high")', fix: 'fix its handoff as "gitbus lint" says, or cancel it ("gitbus cancel bad-field")' });
    const { version: _v, ...verdict } = invalid.trust ?? { version: 0 };
    expect(await verify('bad-field')).toEqual(verdict);
    expect((await gitbus(['show', 'bad-field'], { home: w })).stdout).toContain(`\ntrust (version ${version}): not for this node: it is invalid: no node runs it until the problems of its handoff are fixed (`);
    const newer = await show('newer');
    expect(newer.state).toBe('unsupported');
    expect(newer.trust).toEqual({ version, trusted: false, notForThisNode: true, reason: 'it needs protocol 9, newer than this gitbus: this node does not run it, a node whose gitbus reads that protocol may', fix: 'upgrade gitbus on this node to run it here' });
  });

  it('MCP show and the web view\'s task JSON carry the same verdicts', async () => {
    const expected = { template: (await show(id('template'))).trust, invalid: (await show('bad-field')).trust };
    expect(expected.template?.reason).toMatch(TEMPLATE);
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: mcpServerEnv(w), cwd: neutralCwd(), stderr: 'pipe' });
    const client = new Client({ name: 'gitbus-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      for (const [ref, want] of [[id('template'), expected.template], ['bad-field', expected.invalid]] as const) {
        const r = await client.callTool({ name: 'show', arguments: { id: ref } }, undefined, { timeout: 45_000 });
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        expect((r.structuredContent as Shown).trust).toEqual(want);
      }
    } finally {
      await client.close();
    }
    const children: ChildProcess[] = [];
    const ui = await spawnUi(w, children);
    try {
      for (const [ref, want] of [[id('template'), expected.template], ['bad-field', expected.invalid]] as const) {
        const page = (await (await fetch(new URL(`/api/task/${encodeURIComponent(ref)}`, ui.url))).json()) as Shown;
        expect(page.trust).toEqual(want);
      }
    } finally {
      ui.child.kill('SIGTERM');
      await ui.exited;
    }
  }, 60_000);
});
