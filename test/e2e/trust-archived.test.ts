import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, gitbus, gitCli, json, neutralCwd } from '../helpers/cli.js';
import { mcpServerEnv } from '../helpers/mcp-server.js';
import { ranTaskInProcess, statesOnBusInProcess } from '../helpers/in-process.js';
import { resumePlan } from '../../bus/model/resume-plan.js';
import { trustFleet, type FleetBus, type Forged } from '../helpers/trust-fleet.js';
import { spawnUi } from '../helpers/web-ui.js';

/**
 * What reads an archived task (`collect`, `show` and MCP `show`, `logs` and the waits, `resume`/`resolve`, `worktrees`,
 * the web view) counts its response as a live one is counted, under trust (real ssh-keygen keys; the fleet:
 * test/helpers/trust-fleet.ts): w ran two of boss's tasks and signed their ends, both were archived, and then someone
 * with push access rewrote one archived response on the archive branch. Its signature no longer verifies: boss does
 * not take it for the task's result anywhere, and says why.
 */
const fleet = trustFleet(['w']);
const { dispatch } = fleet;
let bus: FleetBus;
let boss: string;
let w: string;

beforeAll(async () => {
  ({ bus, boss } = await fleet.setUp());
  w = bus.home('w');
}, 60_000);

afterAll(fleet.tearDown);

type Fact = { id: string; state: string; node: string | null; summary: string; archived?: string };
type Shown = { state: string; archived: string | null; files: { path: string; text: string }[]; forged: (Forged & { fix: string })[] };

// The browser is Debian's chromium, driven by playwright-core, as in test/helpers/web-ui-browser.ts (which CI requires).
const CHROMIUM = '/usr/bin/chromium';
let tampered = '';
let month = '';

describe('an archived response forged in a node\'s name', () => {
  it('is no result for collect or show: the task reads as invalid, saying why, and the file is listed as forged', async () => {
    const kept = await dispatch('kept', 'true', 'w');
    tampered = await dispatch('tampered', 'true', 'w');
    for (const [id, summary] of [[kept, 'the real one'], [tampered, 'the real two']] as const) {
      expect((await gitbus(['claim', id, '--json'], { home: w })).code).toBe(0);
      const r = await gitbus(['respond', id, '--status', 'failed', '--summary', summary, '--json'], { home: w });
      expect(r.code, r.stderr).toBe(0);
    }
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).toEqual(expect.arrayContaining([kept, tampered]));

    // On the archive branch, as anyone with push access could: the result rewritten, its signature left as it was.
    const arch = join(bus.dir, 'archive-forge');
    gitCli(['clone', '-q', '-b', 'archive', bus.remote, arch]);
    month = gitCli(['ls-tree', '--name-only', 'HEAD'], arch).split('\n').find((m) => /^\d{4}-\d{2}$/.test(m) && existsSync(join(arch, m, tampered))) ?? '';
    expect(existsSync(join(arch, 'signatures', month, tampered, 'response.md.sig'))).toBe(true);
    // The month folder and the id index's copy of it (ids/<hh>/<id>.<yyyy-mm>/), which lookups read first.
    const copies = gitCli(['ls-files'], arch).split('\n').filter((f) => f === `${month}/${tampered}/response.md` || f.endsWith(`/${tampered}.${month}/response.md`));
    expect(copies).toHaveLength(2);
    for (const f of copies) writeFileSync(join(arch, f), readFileSync(join(arch, f), 'utf8').replace('status: failed', 'status: succeeded').replace('the real two', 'all green, ship it'));
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qam', 'an archived result rewritten'], arch);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
    const path = `archive:${month}/${tampered}/response.md`;

    const c = await gitbus(['collect', '--node', '--peek', '--json'], { home: boss });
    expect(c.code, c.stderr).toBe(0);
    const ended = json<{ ended: Fact[] }>(c).ended;
    expect(ended.find((f) => f.id === kept)).toMatchObject({ state: 'failed', node: 'w', summary: 'the real one', archived: month });
    const forgedFact = ended.find((f) => f.id === tampered);
    expect(forgedFact).toMatchObject({ state: 'invalid', archived: month });
    expect(forgedFact?.summary).toMatch(/^how the task ended is unknown: this node does not count its archived response \(forged in the name of node w: its signature does not verify/);
    const text = (await gitbus(['collect', '--node', '--peek'], { home: boss })).stdout;
    expect(text).not.toContain('all green, ship it');
    expect(text).toMatch(new RegExp(`  ${tampered}  invalid  w  tampered\n      how the task ended is unknown`));

    const shown = json<Shown>(await gitbus(['show', tampered, '--json'], { home: boss }));
    expect(shown.state).toBe('invalid');
    expect(shown.files.map((f) => f.path)).not.toContain(path);
    expect(shown.forged).toEqual([expect.objectContaining({ path, kind: 'response', id: tampered, node: 'w', reason: expect.stringMatching(/^forged in the name of node w: its signature does not verify/) })]);
    const human = (await gitbus(['show', tampered], { home: boss })).stdout;
    expect(human).toContain(`task ${tampered}: invalid (archived ${month})`);
    expect(human).toContain("ignored, forged in a node's name (1):");
    expect(human).not.toContain('all green, ship it');
    // The untouched one is shown as it ended, its response with it.
    const real = json<Shown>(await gitbus(['show', kept, '--json'], { home: boss }));
    expect(real).toMatchObject({ state: 'failed', archived: month, forged: [] });
    expect(real.files.find((f) => f.path === `archive:${month}/${kept}/response.md`)?.text).toContain('the real one');
    // The fix names the file where it is, on the archive branch: not responses/<id>.md, which main no longer has.
    const fix = shown.forged[0]?.fix ?? '';
    expect(fix).toContain(`put ${month}/${tampered}/response.md on the archive branch back as it was`);
    expect(fix).not.toContain(`responses/${tampered}.md`);
    // So does `verify`'s verdict on it (the file listed by its path on main, which its signature covers).
    const verified = json<{ files: { path: string; verdict: { trusted: boolean; fix?: string } | null }[] }>(await gitbus(['verify', tampered, '--json'], { home: boss }));
    expect(verified.files.find((f) => f.path === `responses/${tampered}.md`)?.verdict).toEqual({ trusted: false, reason: expect.stringMatching(/^forged in the name of node w/), fix });
    // And its handoff's verdict says how it ended as this node counts it, as show does: no end that reads.
    const handoffVerdict = verified.files.find((f) => f.path === `handoffs/${tampered}.md`)?.verdict as { reason?: string } | null | undefined;
    expect(handoffVerdict?.reason).toMatch(/^it was archived, with no end that reads \(invalid\)/);

    // Its output, as `logs` and every wait read it (`dispatch --wait`, `run`, MCP `wait`): no forged end, and why.
    const logs = await gitbus(['logs', tampered, '--json'], { home: boss });
    expect(logs.stdout).not.toContain('all green, ship it');
    const out = json<{ state: string; archived?: true; source: string; reason: string | null }>(logs);
    expect(out).toMatchObject({ state: 'invalid', archived: true, source: 'none' });
    expect(out.reason).toMatch(/^how the task ended is unknown: this node does not count its archived response \(forged in the name of node w/);
    // Followed, it returns at once: an archived task does not change any more (a process, so a loop is killed).
    const followed = await gitbus(['logs', tampered, '--follow'], { home: boss, process: true, timeoutMs: 20_000 });
    expect(followed.code, followed.stderr).toBe(0);

    // What `resume` and `resolve` read of it, and what `worktrees` keeps a worktree by: no forged end there either.
    const ran = await ranTaskInProcess(boss, tampered);
    expect(ran).toMatchObject({ id: tampered, state: 'invalid', response: null });
    expect(ran.claims.map((c) => c.node)).toEqual(['w']);
    // Why, for resume to refuse it with: an archived task does not run again, and how it ended is unknown.
    expect(ran.problems).toEqual([expect.objectContaining({ path: `archive:${month}/${tampered}/response.md`, reason: expect.stringMatching(/^how the task ended is unknown/) })]);
    expect(() => resumePlan(ran)).toThrow(/is invalid and does not run again by itself, so there is no session to resume: archive:\S+\/response.md: how the task ended is unknown/);
    const states = (await statesOnBusInProcess(boss, [tampered, kept])).states;
    expect(states.get(tampered)).toEqual({ state: 'invalid', archived: true });
    expect(states.get(kept)).toEqual({ state: 'failed', archived: true });
  }, 90_000);

  it('is listed apart by the MCP show tool too, with why and the fix, and is not its response', async () => {
    expect(tampered).not.toBe('');
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: mcpServerEnv(boss), cwd: neutralCwd(), stderr: 'pipe' });
    const client = new Client({ name: 'gitbus-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      // The SDK's client checks the result against the tool's published output schema itself.
      const r = await client.callTool({ name: 'show', arguments: { id: tampered } });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      const shown = r.structuredContent as { state: string; response: unknown; files: { path: string }[]; forged: (Forged & { fix: string })[] };
      expect(shown.state).toBe('invalid');
      expect(shown.response).toBeNull();
      expect(JSON.stringify(shown)).not.toContain('all green, ship it');
      expect(shown.forged).toEqual([expect.objectContaining({ path: `archive:${month}/${tampered}/response.md`, kind: 'response', node: 'w', reason: expect.stringMatching(/^forged in the name of node w: its signature does not verify/), fix: expect.stringContaining('on the archive branch back as it was') })]);
    } finally {
      await client.close();
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('is listed apart on the web task page, with why and the fix', async () => {
    expect(tampered).not.toBe('');
    const children: ChildProcess[] = [];
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      const ui = await spawnUi(boss, children);
      const page = await browser.newPage();
      await page.goto(`${ui.url}task/${tampered}`);
      const forged = page.getByRole('region', { name: /forged in a node’s name \(1\)/ });
      await forged.waitFor({ timeout: 15_000 });
      const text = await forged.innerText();
      expect(text).toContain(`archive:${month}/${tampered}/response.md`);
      expect(text).toMatch(/forged in the name of node w: its signature does not verify/);
      expect(text).toContain(`Fix: if someone with push access changed or wrote it, put ${month}/${tampered}/response.md on the archive branch back as it was`);
      expect(await page.getByRole('region', { name: 'Files' }).innerText()).not.toContain('all green, ship it');
      // Why the task reads as invalid, as `show` lists it.
      expect(await page.getByRole('region', { name: 'Problems (1)' }).innerText()).toMatch(/how the task ended is unknown: this node does not count its archived response/);
    } finally {
      await browser.close();
      for (const c of children) c.kill('SIGKILL');
    }
  }, 60_000);
});

describe("an archived task's sidecar that is not a file", () => {
  it('is named as a folder or a symbolic link on the archive branch, with the fix, by show and verify: not taken for no signature', async () => {
    const id = await dispatch('odd sidecars', 'true', 'w');
    expect((await gitbus(['claim', id, '--json'], { home: w })).code).toBe(0);
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'], { home: w });
    expect(r.code, r.stderr).toBe(0);
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    // As anyone with push access could, in both copies lookups may read: the month's signature folder and the index's.
    const arch = join(bus.dir, 'archive-sidecars');
    gitCli(['clone', '-q', '-b', 'archive', bus.remote, arch]);
    const at = gitCli(['ls-files'], arch).split('\n').filter((f) => f.endsWith('.md.sig') && (f.includes(`/${id}/`) || f.includes(`/${id}.`)));
    const handoffSigs = at.filter((f) => f.endsWith('/handoff.md.sig'));
    const responseSigs = at.filter((f) => f.endsWith('/response.md.sig'));
    expect(handoffSigs).toHaveLength(2);
    expect(responseSigs).toHaveLength(2);
    for (const f of handoffSigs) {
      rmSync(join(arch, f));
      mkdirSync(join(arch, f));
      writeFileSync(join(arch, f, 'readme'), 'not a signature\n');
    }
    for (const f of responseSigs) {
      rmSync(join(arch, f));
      symlinkSync('handoff.md.sig', join(arch, f));
    }
    gitCli(['add', '-A'], arch);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'sidecars made a folder and a link'], arch);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
    const month = handoffSigs.find((f) => f.startsWith('signatures/'))?.split('/')[1] ?? '';
    const handoffSig = `signatures/${month}/${id}/handoff.md.sig`;
    const responseSig = `signatures/${month}/${id}/response.md.sig`;
    const fixOf = (p: string) => `remove it from the archive branch ("git rm -r ${p}" in a checkout of it; "git log archive -- ${p}" shows who pushed it), then put back the signature the file was archived with, if it had one: nothing signs an archived file after the fact`;

    const shown = json<{ state: string; trust?: { reason: string; fix?: string }; forged: (Forged & { fix: string })[] }>(await gitbus(['show', id, '--json'], { home: boss }));
    expect(shown.trust?.reason).toContain(`; its handoff would not be trusted now for node w: unsigned: ${handoffSig} on the archive branch is a folder, not a signature file: gitbus never reads one, so the archived handoffs/${id}.md has no signature it can check`);
    expect(shown.trust?.fix).toBe(fixOf(handoffSig));
    // The response's link is no signature of w's: forged, and the task's end unknown.
    expect(shown.state).toBe('invalid');
    expect(shown.forged).toEqual([expect.objectContaining({ kind: 'response', node: 'w', reason: expect.stringContaining(`it is not signed: ${responseSig} on the archive branch is a symbolic link, not a signature file`), fix: fixOf(responseSig) })]);

    type Verified = { files: { path: string; status: string; verdict: { reason: string; fix?: string } | null; unread?: { path: string; is: string; reason: string; fix: string }[] }[] };
    const verified = json<Verified>(await gitbus(['verify', id, '--json'], { home: boss }));
    const handoff = verified.files.find((f) => f.path === `handoffs/${id}.md`);
    expect(handoff?.status).toBe('unsigned');
    expect(handoff?.unread).toEqual([{ path: handoffSig, is: 'folder', reason: expect.stringContaining('on the archive branch is a folder'), fix: fixOf(handoffSig) }]);
    expect(handoff?.verdict?.reason).toBe(shown.trust?.reason);
    const response = verified.files.find((f) => f.path === `responses/${id}.md`);
    expect(response?.unread).toEqual([{ path: responseSig, is: 'link', reason: expect.stringContaining('on the archive branch is a symbolic link'), fix: fixOf(responseSig) }]);
    expect(response?.verdict).toMatchObject({ reason: expect.stringContaining(`${responseSig} on the archive branch is a symbolic link`), fix: fixOf(responseSig) });
  }, 60_000);
});
