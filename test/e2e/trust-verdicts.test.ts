import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, gitbus, gitCli, json, neutralCwd, type RunResult } from '../helpers/cli.js';
import { mcpServerEnv } from '../helpers/mcp-server.js';
import { NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { trustFleet, type FleetBus } from '../helpers/trust-fleet.js';
import { spawnUi } from '../helpers/web-ui.js';

/**
 * How a node that pinned the trust root reports its verdict on a handoff, with real ssh-keygen keys (the fleet of
 * test/helpers/trust-fleet.ts: admin alice signs the root and the boss's dispatches; w and x pinned it and are
 * listed). `show` (CLI, --json, MCP `show`, the web view's task JSON) says it as `verify` does, and nothing new
 * without a pin; `verify` says a task addressed to another node is not this node's to run; a sidecar that is a
 * folder or a link is named as such, with the fix; and after w rotates its key, a dispatch to w says that w's card
 * is not trusted and how an admin lists the key, rather than that there is no node w. `status --json` gives an
 * untrusted task's verdict as `show` does (`trustVerdict`), beside the reason alone (`untrusted`).
 */
const fleet = trustFleet(['w', 'x']);
const { fp, status, dispatch, push, children } = fleet;
let bus: FleetBus;
let boss: string;
let w: string;
let x: string;
let version = 0;
const ids: Record<string, string> = {};
const id = (name: string): string => ids[name] ?? '';

interface Verdict { version?: number; trusted: boolean; reason: string; fix?: string; signer?: { principals: string[]; fingerprint: string }; notForThisNode?: true }
interface Shown { id: string; trust?: Verdict }
interface Verified { files: { path: string; status: string; verdict: Verdict | null; unread?: { path: string; is: string; reason: string; fix: string }[] }[] }
const errorOf = (r: RunResult) => json<{ error: { code: string; message: string; fix: string } }>(r).error;

async function unsigned(name: string, extra: string[] = ['--to', 'w']): Promise<string> {
  const r = await gitbus(['dispatch', name, '--command', 'true', ...extra, '--unsigned', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
  expect(r.code, r.stderr).toBe(0);
  return json<{ id: string }>(r).id;
}

/** Puts a symbolic link at `path` on main, as anyone with push access could. */
function pushLink(path: string, target: string): void {
  const clone = join(bus.dir, 'person');
  gitCli(['pull', '-q', '--ff-only'], clone);
  mkdirSync(join(clone, path, '..'), { recursive: true });
  symlinkSync(target, join(clone, path));
  push({}, `a link at ${path}`);
}

const show = async (home: string, ref: string) => json<Shown>(await gitbus(['show', ref, '--json'], { home }));
const verify = async (home: string, ref: string) => json<Verified>(await gitbus(['verify', ref, '--json'], { home }));

/** Dispatches as the boss with `signer`'s key (then alice's again, the fleet's). */
async function dispatchAs(signer: string, name: string, extra: string[]): Promise<string> {
  const path = join(boss, 'node.yaml');
  const config = readFileSync(path, 'utf8');
  writeFileSync(path, stringify({ ...(parse(config) as Record<string, unknown>), signingKey: fleet.key(signer) }));
  try {
    const r = await gitbus(['dispatch', name, '--command', 'true', ...extra, '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(r.code, r.stderr).toBe(0);
    return json<{ id: string }>(r).id;
  } finally {
    writeFileSync(path, config);
  }
}

beforeAll(async () => {
  ({ bus, boss } = await fleet.setUp());
  w = bus.home('w');
  x = bus.home('x');
  // bob may have shell tasks run on w only: a task of his addressed to w is trusted there, and elsewhere refused.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bob', '-f', fleet.key('bob')]);
  await fleet.admin(['trust', 'add', 'signer', 'bob', `${fleet.key('bob')}.pub`]);
  await fleet.admin(['trust', 'add', 'rule', '--signers', 'bob', '--runners', 'shell', '--nodes', 'w']);
  version = (await status(w) as unknown as { trust: { version: number } }).trust.version;
  ids['bobToW'] = await dispatchAs('bob', 'bob for w', ['--to', 'w']);
  ids['bobAnywhere'] = await dispatchAs('bob', 'bob for anyone', []);
  ids['signed'] = await dispatch('signed', 'true', 'w');
  ids['unsigned'] = await unsigned('unsigned');
  ids['copied'] = await unsigned('copied');
  ids['folder'] = await unsigned('folder-sidecar');
  ids['link'] = await unsigned('link-sidecar');
  push({
    [`signatures/handoffs/${id('copied')}.md.sig`]: gitCli(['show', `main:signatures/handoffs/${id('signed')}.md.sig`], bus.remote),
    [`signatures/handoffs/${id('folder')}.md.sig/readme`]: 'not a signature\n',
  }, 'a copied signature, and a folder where a signature goes');
  pushLink(`signatures/handoffs/${id('link')}.md.sig`, `${id('signed')}.md.sig`);
}, 90_000);

afterAll(fleet.tearDown);

describe("a node's verdict on a handoff", () => {
  it('show on a node that pinned the root says who signed the handoff, or why it is refused, as verify does', async () => {
    const signed = (await show(w, id('signed'))).trust;
    expect(signed).toEqual({ version, trusted: true, reason: expect.stringMatching(/^this node would run it: signed by alice \(SHA256:\S+\), allowed by rule 1$/), signer: { principals: ['alice'], fingerprint: fp('alice') } });
    // The same verdict verify gives the handoff.
    const { version: _v, ...verdict } = signed ?? { version: 0 };
    expect((await verify(w, id('signed'))).files[0]?.verdict).toEqual(verdict);
    const text = (await gitbus(['show', id('signed')], { home: w })).stdout;
    expect(text).toContain(`\ntrust (version ${version}): runs here: this node would run it: signed by alice (${fp('alice')}), allowed by rule 1\n`);

    const refused = (await show(w, id('unsigned'))).trust;
    expect(refused).toMatchObject({ version, trusted: false, reason: expect.stringMatching(/^unsigned: handoffs\/\S+ has no signature/), fix: expect.stringContaining('gitbus sign') });
    expect(refused?.signer).toBeUndefined();
    expect((await gitbus(['show', id('unsigned')], { home: w })).stdout).toMatch(new RegExp(`\\ntrust \\(version ${version}\\): refused here: unsigned: handoffs/\\S+ has no signature.*\\n  fix: .*gitbus sign`));
    expect((await show(w, id('copied'))).trust).toMatchObject({ trusted: false, reason: expect.stringMatching(/^bad signature \(mismatch\)/) });
  });

  it('show on a node that did not pin the root says nothing new', async () => {
    const pin = join(w, 'trust-pin.json');
    renameSync(pin, `${pin}.aside`);
    try {
      const shown = await gitbus(['show', id('signed'), '--json'], { home: w });
      expect(json<Shown>(shown)).not.toHaveProperty('trust');
      expect((await gitbus(['show', id('signed')], { home: w })).stdout).not.toMatch(/^trust/m);
    } finally {
      renameSync(`${pin}.aside`, pin);
    }
  });

  it('MCP show and the web view\'s task JSON carry the same verdict', async () => {
    const expected = (await show(w, id('signed'))).trust;
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: mcpServerEnv(w), cwd: neutralCwd(), stderr: 'pipe' });
    const client = new Client({ name: 'gitbus-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      // The SDK client checks the result against the tool's output schema itself.
      const r = await client.callTool({ name: 'show', arguments: { id: id('signed') } }, undefined, { timeout: 45_000 });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect((r.structuredContent as Shown).trust).toEqual(expected);
      const refused = await client.callTool({ name: 'show', arguments: { id: id('unsigned') } }, undefined, { timeout: 45_000 });
      expect((refused.structuredContent as Shown).trust).toMatchObject({ trusted: false, reason: expect.stringMatching(/^unsigned: /) });
      // MCP status gives the same verdict beside `untrusted`, checked against its output schema by the client.
      const status = await client.callTool({ name: 'status', arguments: {} }, undefined, { timeout: 45_000 });
      expect(status.isError, JSON.stringify(status.content)).toBeFalsy();
      const listed = (status.structuredContent as { tasks: { id: string; trustVerdict?: Verdict }[] }).tasks.find((t) => t.id === id('unsigned'));
      expect(listed?.trustVerdict).toEqual((refused.structuredContent as Shown).trust);
    } finally {
      await client.close();
    }
    const ui = await spawnUi(w, children as ChildProcess[]);
    try {
      const page = (await (await fetch(new URL(`/api/task/${encodeURIComponent(id('signed'))}`, ui.url))).json()) as Shown;
      expect(page.trust).toEqual(expected);
    } finally {
      ui.child.kill('SIGTERM');
      await ui.exited;
    }
  }, 60_000);

  it('verify and show on another node than the one a handoff is addressed to say it is not theirs to run, and how its signature stands there', async () => {
    const v = (await verify(x, id('signed'))).files[0]?.verdict;
    expect(v).toEqual({ trusted: false, notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: it is addressed to node w; signed by alice \(SHA256:\S+\), allowed by rule 1 for node w$/), fix: expect.stringContaining('claim it on w'), signer: { principals: ['alice'], fingerprint: fp('alice') } });
    expect((await gitbus(['verify', id('signed')], { home: x })).stdout).toMatch(/trust: not for this node: this node would not run it: it is addressed to node w; signed by alice/);
    expect((await show(x, id('signed'))).trust).toEqual({ version, ...v });
    // Refused for w as well: both are said, with the fix of each.
    const both = (await verify(x, id('unsigned'))).files[0]?.verdict;
    expect(both).toMatchObject({ trusted: false, notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: it is addressed to node w; and its handoff is untrusted for node w: unsigned: /), fix: expect.stringMatching(/claim it on w.*; for its signature: .*gitbus sign/) });
    // A label this node lacks rules it out too, as the claim decision does.
    const gpu = await gitbus(['dispatch', 'needs a gpu', '--command', 'true', '--label', 'gpu', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(gpu.code, gpu.stderr).toBe(0);
    expect((await verify(w, json<{ id: string }>(gpu).id)).files[0]?.verdict).toMatchObject({ trusted: false, notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: this node lacks label\(s\) gpu; signed by alice/) });
    // The node it is addressed to would run it.
    expect((await verify(w, id('signed'))).files[0]?.verdict?.trusted).toBe(true);
  });

  it('status and lint judge a task addressed to another node by the rules for that node, as show does; one with no `to` by their own', async () => {
    type Listed = { tasks: { id: string; to?: string; untrusted?: string }[] };
    type Linted = { problems: { path: string; reason: string; severity: string }[] };
    const untrusted = async (home: string, name: string) => json<Listed>(await gitbus(['status', '--json'], { home })).tasks.find((t) => t.id === id(name))?.untrusted;
    const lintOf = async (home: string, name: string) => json<Linted>(await gitbus(['lint', '--json'], { home })).problems.find((p) => p.path === `handoffs/${id(name)}.md`);
    // Allowed for w, where it is addressed: every node says so, as their show does.
    for (const home of [w, x]) {
      expect(await untrusted(home, 'bobToW'), home).toBeUndefined();
      expect(await lintOf(home, 'bobToW'), home).toBeUndefined();
    }
    expect((await show(x, id('bobToW'))).trust).toMatchObject({ notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: it is addressed to node w; signed by bob \(SHA256:\S+\), allowed by rule \d+ for node w$/) });
    // With no `to`, each node judges it for itself: w may run it, x may not.
    expect(await untrusted(w, 'bobAnywhere')).toBeUndefined();
    expect(await untrusted(x, 'bobAnywhere')).toMatch(/^signed by bob \(SHA256:\S+\), who may not make node x run this shell task/);
    expect((await lintOf(x, 'bobAnywhere'))?.reason).toMatch(/^untrusted on node x \(trust version \d+\): signed by bob .*who may not make node x run this shell task/);
    // Refused for w too (unsigned): x says so, for w, as w does, and names the node it was judged for.
    const unsignedOnW = await untrusted(w, 'unsigned');
    expect(unsignedOnW).toMatch(/^unsigned: handoffs\/\S+ has no signature/);
    expect(await untrusted(x, 'unsigned')).toBe(unsignedOnW);
    expect((await lintOf(x, 'unsigned'))?.reason).toBe(`untrusted for node w, to which it is addressed (judged on node x, trust version ${version}): ${unsignedOnW ?? ''}`);
    expect((await gitbus(['status'], { home: x })).stdout).toContain(`untrusted for node w, to which it is addressed: ${unsignedOnW ?? ''}`);
  });

  it('status --json gives beside `untrusted` the verdict show gives (`trustVerdict`), on the node it is addressed to and elsewhere', async () => {
    type Listed = { tasks: { id: string; untrusted?: string; trustVerdict?: Verdict }[] };
    const row = async (home: string, name: string) => json<Listed>(await gitbus(['status', '--json'], { home })).tasks.find((t) => t.id === id(name));
    for (const [home, name] of [[w, 'unsigned'], [x, 'unsigned'], [x, 'bobAnywhere'], [w, 'folder']] as const) {
      const listed = await row(home, name);
      const shown = (await show(home, id(name))).trust;
      expect(listed?.untrusted, `${name} on ${home}`).toBeDefined();
      expect(listed?.trustVerdict, `${name} on ${home}`).toEqual(shown);
    }
    // On w, where it is addressed, the reason alone and the verdict agree; on x it is not x's to run at all.
    expect((await row(w, 'unsigned'))?.trustVerdict).toMatchObject({ version, trusted: false, reason: (await row(w, 'unsigned'))?.untrusted, fix: expect.stringContaining('gitbus sign') });
    expect((await row(x, 'unsigned'))?.trustVerdict).toMatchObject({ notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: it is addressed to node w; and its handoff is untrusted for node w: unsigned: /) });
    // A trusted task has neither.
    expect(await row(w, 'signed')).not.toHaveProperty('trustVerdict');
  });

  it('show and verify say that a task that ended runs nowhere again, and that one a claim holds runs only on its holder, then how its signature stands', async () => {
    const alice = { principals: ['alice'], fingerprint: fp('alice') };
    ids['ended'] = await dispatch('ended', 'true', 'w');
    const held = await gitbus(['dispatch', 'held', '--command', 'true', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(held.code, held.stderr).toBe(0);
    ids['held'] = json<{ id: string }>(held).id;
    for (const [who, ref] of [[boss, id('ended')], [x, id('held')]] as const) {
      const r = await gitbus([who === boss ? 'cancel' : 'claim', ref, '--json'], { home: who });
      expect(r.code, r.stderr).toBe(0);
    }
    const ended = { version, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it ended \(cancelled\): no node runs it again; signed by alice \(SHA256:\S+\), allowed by rule 1$/), signer: alice };
    expect((await show(w, id('ended'))).trust).toEqual(ended);
    const { version: _v, ...verdict } = (await show(w, id('ended'))).trust ?? { version: 0 };
    expect((await verify(w, id('ended'))).files[0]?.verdict).toEqual(verdict);
    expect((await gitbus(['show', id('ended')], { home: w })).stdout).toContain(`\ntrust (version ${version}): not for this node: it ended (cancelled): no node runs it again; signed by alice (${fp('alice')}), allowed by rule 1\n`);
    // Elsewhere, judged for w as before, the end said first.
    expect((await show(x, id('ended'))).trust?.reason).toMatch(/^it ended \(cancelled\): no node runs it again; signed by alice \(SHA256:\S+\), allowed by rule 1 for node w$/);
    // Held by x: only x runs it; x says it holds it.
    expect((await show(w, id('held'))).trust).toEqual({ version, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it is held by node x \(attempt 1\): only its holder runs it, unless x goes silent past the lease and another node takes it over; signed by alice \(SHA256:\S+\), allowed by rule 1$/), signer: alice });
    expect((await verify(x, id('held'))).files[0]?.verdict).toEqual({ trusted: true, reason: expect.stringMatching(/^this node holds it \(attempt 1\): only its holder runs it; signed by alice \(SHA256:\S+\), allowed by rule 1$/), signer: alice });
    const cancelled = await gitbus(['cancel', id('held'), '--json'], { home: boss });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect((await verify(w, id('held'))).files[0]?.verdict?.reason).toMatch(/^it is held by node x \(attempt 1\), cancelled and to be stopped there: only its holder runs it, unless x goes silent past the lease and another node takes it over; signed by alice/);
  });

  it('a sidecar that is a folder or a link is named as such, with the fix, not taken for no signature', async () => {
    const s = json<{ tasks: { id: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    const untrusted = (name: string) => s.tasks.find((t) => t.id === id(name))?.untrusted;
    expect(untrusted('folder')).toBe(`unsigned: signatures/handoffs/${id('folder')}.md.sig is a folder, not a signature file: gitbus never reads one, so handoffs/${id('folder')}.md has no signature it can check, and this bus has a trust root (version ${version})`);
    expect(untrusted('link')).toMatch(new RegExp(`^unsigned: signatures/handoffs/${id('link')}\\.md\\.sig is a symbolic link, not a signature file`));
    const f = (await verify(w, id('folder'))).files[0];
    const fix = `remove it ("git rm -r signatures/handoffs/${id('folder')}.md.sig"; "git log -- signatures/handoffs/${id('folder')}.md.sig" shows who pushed it), then sign handoffs/${id('folder')}.md again ("gitbus sign handoffs/${id('folder')}.md" in a checkout of the bus)`;
    expect(f?.status).toBe('unsigned');
    expect(f?.unread).toEqual([{ path: `signatures/handoffs/${id('folder')}.md.sig`, is: 'folder', reason: expect.stringContaining('is a folder'), fix }]);
    expect(f?.verdict).toMatchObject({ trusted: false, reason: expect.stringContaining('is a folder, not a signature file'), fix: `${fix}, or dispatch it again` });
    const text = (await gitbus(['verify', id('link')], { home: w })).stdout;
    expect(text).toContain(`  handoffs/${id('link')}.md: unsigned: signatures/handoffs/${id('link')}.md.sig is a symbolic link, not a signature file`);
    expect(text).toContain(`fix: remove it ("git rm -r signatures/handoffs/${id('link')}.md.sig"`);
    expect((await show(w, id('link'))).trust?.reason).toContain('is a symbolic link');

    // A node's own file whose sidecar was made a folder: forged, and why.
    const claimed = await gitbus(['claim', id('signed'), '--json'], { home: w });
    expect(claimed.code, claimed.stderr).toBe(0);
    const clone = join(bus.dir, 'person');
    const sidecar = `signatures/claims/${id('signed')}.1.md.sig`;
    gitCli(['pull', '-q', '--ff-only'], clone);
    rmSync(join(clone, sidecar));
    mkdirSync(join(clone, sidecar));
    writeFileSync(join(clone, sidecar, 'readme'), 'not a signature\n');
    push({}, 'a folder in place of a claim\'s signature');
    const forged = (await status()).forged.find((g) => g.path === `claims/${id('signed')}.1.md`);
    expect(forged?.reason).toMatch(new RegExp(`^forged in the name of node w: it is not signed: ${sidecar.replace(/\./g, '\\.')} is a folder, not a signature file`));
    expect((forged as { fix?: string } | undefined)?.fix).toMatch(new RegExp(`^remove it \\("git rm -r ${sidecar.replace(/\./g, '\\.')}"`));
  });

  it('show on an archived task gives the verdict on its archived handoff', async () => {
    const c = await gitbus(['cancel', id('unsigned'), '--json'], { home: boss });
    expect(c.code, c.stderr).toBe(0);
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    const shown = await show(w, id('unsigned'));
    expect(shown.trust).toMatchObject({ version, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it ended \(cancelled\) and was archived: no node runs it again \(a signed handoff runs once, .*\); its handoff would not be trusted now: unsigned: /) });
    // One signed, addressed to w: judged for w, on every node, as when it was live; verify says the same.
    const ended = (await show(x, id('ended'))).trust;
    expect(ended).toEqual({ version, trusted: false, notForThisNode: true, reason: expect.stringMatching(/^it ended \(cancelled\) and was archived: no node runs it again .*; signed by alice \(SHA256:\S+\), allowed by rule 1 for node w$/), signer: { principals: ['alice'], fingerprint: fp('alice') } });
    const { version: _v, ...verdict } = ended ?? { version: 0 };
    expect((await verify(x, id('ended'))).files.find((f) => f.path.startsWith('handoffs/'))?.verdict).toEqual(verdict);
  });

  it('after w rotates its key, a dispatch to w says its card is not trusted and how an admin lists the key, not that there is no node w', async () => {
    const rotated = await gitbus(['trust', 'node-key', '--rotate', '--json'], { home: w });
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = json<{ fingerprint: string }>(rotated).fingerprint;
    // The boss reads the bus after the rotation (dispatch judges the target by its clone first).
    expect((await status()).forged.map((f) => f.path)).toContain('nodes/w.md');
    const r = await gitbus(['dispatch', 'after the rotation', '--to', 'w', '--command', 'true', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(r.code).not.toBe(0);
    const err = errorOf(r);
    expect(err.code).toBe('NODE_CANNOT_RUN');
    expect(err.message).toMatch(/^node w cannot run this task: its card \(nodes\/w\.md\) is not trusted on this node, so neither is anything it writes: forged in the name of node w: it is signed by SHA256:\S+, which is not a key of node w here/);
    expect(err.fix).toContain(`an admin checks the fingerprint with node w ("gitbus trust node-key" there prints it) and lists its key: gitbus trust add node w --fingerprint ${fresh}`);
    expect(err.fix).toContain('--force');
    const human = await gitbus(['dispatch', 'after the rotation', '--to', 'w', '--command', 'true', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(human.stderr).toContain('node w cannot run this task: its card (nodes/w.md) is not trusted on this node');
    expect(human.stderr).not.toContain('no node named');
    // Forced, it goes on the bus with the same warning, once.
    const forced = await gitbus(['dispatch', 'after the rotation', '--to', 'w', '--command', 'true', '--force', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr.match(/is not trusted on this node/g)).toHaveLength(1);
    expect(forced.stderr).not.toContain('no node named');
    // status says the same of the task waiting for w, not that w is not on the bus.
    const waiting = json<{ tasks: { title: string; state: string; noTaker?: string }[] }>(await gitbus(['status', '--json'], { home: boss })).tasks.find((t) => t.title === 'after the rotation');
    expect(waiting?.state).toBe('pending');
    expect(waiting?.noTaker).toMatch(/^node w cannot take it: its card is not trusted on this node, so neither is what it claims \(forged in the name of node w: it is signed by SHA256:\S+, which is not a key of node w here/);
  });
});
