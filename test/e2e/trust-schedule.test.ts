import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { TaskResponse } from '../../schemas/response.js';
import { instanceId, latestDue, renderInstance } from '../../bus/model/schedule.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf, NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { showInProcess } from '../helpers/in-process.js';

/**
 * Schedules on a bus whose trust root the worker pinned (issue 11): a watcher dispatches a schedule's instances
 * unsigned, and a node trusts such an instance by derivation from its signed template. Worker w pinned a root whose
 * admin alice may run anything. Templates are written as anyone with push access could, with `created` two days
 * back and a daily schedule, so yesterday's due time is one the schedule produced that no watcher dispatched
 * (watchers dispatch the latest only). The instance w's own watcher dispatches from alice's signed template runs;
 * an instance whose command was changed, one of an unsigned template and one for a time the schedule does not
 * produce are each refused with their reason and run nothing. Archiving moves signatures with their files, and
 * `gitbus verify` checks an archived task from the archive; an archived instance pushed back is refused as a replay.
 * The root's maxHandoffAge (36h) is shorter than the templates' age: the schedule runs all the same.
 */
const FINAL = ['succeeded', 'failed', 'timed-out', 'cancelled'];
const DAILY = '0 0 * * *';

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let keys: string;
let person: string;
let watcher: WatcherProcess | undefined;
const children: ChildProcess[] = [];
const key = (name: string) => join(keys, name);
const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
const marker = (name: string) => join(bus.dir, `ran-${name}`);

const now = new Date();
const today = latestDue(DAILY, now) ?? now;
const yesterday = new Date(today.getTime() - 86_400_000);
const created = new Date(today.getTime() - 2 * 86_400_000 + 3_600_000).toISOString();
const ids = {
  signedRun: instanceId('nightly', today),
  unsignedTemplate: instanceId('unsigned-nightly', today),
  altered: instanceId('nightly', yesterday),
  offSchedule: instanceId('nightly', new Date(yesterday.getTime() + 30 * 60_000)),
  plain: 'signed-plain',
};

/** A template as a person would write it, and its parsed form (what a node's view of it holds). */
function template(id: string, command: string): { path: string; text: string; handoff: Handoff; body: string } {
  const path = `handoffs/${id}.md`;
  const text = renderBusFile('handoff', { id, title: `${id} build`, to: 'w', command, schedule: DAILY, created } as Handoff, '## Task\n\nBuild it.\n');
  const r = parseBusFile(path, text);
  if (!r.ok || r.kind !== 'handoff') throw new Error(`${path} does not parse`);
  return { path, text, handoff: r.file.data, body: r.file.body };
}

/** An SSHSIG by `name` over gitbus's message for the handoff at `path` with `text`. */
function sshSign(path: string, text: string, name: string): string {
  return execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'gitbus-handoff@v1', '-f', key(name)], { input: Buffer.concat([Buffer.from(`gitbus handoff v1\n${path}\n`), Buffer.from(text)]), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
}

/** Writes files into main as anyone with push access could, with plain git. */
const push = (files: Record<string, string>, message: string): void => pushFiles(person, files, message);

async function ended(id: string): Promise<{ state: string; reason: string }> {
  let shown: { state: string; files: { path: string; text: string }[] } = { state: '', files: [] };
  await until(`${id} to end`, async () => {
    // Not on the bus yet (the schedule has not dispatched it): not ended.
    const r = await showInProcess<typeof shown>(boss, id).catch(() => null);
    if (r === null) return false;
    shown = r;
    return FINAL.includes(shown.state);
  }, 20_000, () => `${JSON.stringify(shown)}\n${watcher?.stderr() ?? ''}`);
  const text = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
  return { state: shown.state, reason: String((parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '') as { reason?: string }).reason ?? '') };
}

const REFUSED: Record<string, { id: () => string; reason: RegExp }> = {
  altered: { id: () => ids.altered, reason: /unsigned: .* has no signature, and it is not a trusted instance of schedule nightly: its bytes are not what the template renders/ },
  'unsigned template': { id: () => ids.unsignedTemplate, reason: /not a trusted instance of schedule unsigned-nightly: the template is not trusted: unsigned: handoffs\/unsigned-nightly\.md has no signature/ },
  'off schedule': { id: () => ids.offSchedule, reason: /not a trusted instance of schedule nightly: the schedule "0 0 \* \* \*" does not produce the due time/ },
};

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  mkdirSync(keys);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key('alice')]);
  const init = await gitbus(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--key', key('alice'), '--unlisted-nodes', 'accept', '--json'], { home: boss });
  expect(init.code, init.stderr).toBe(0);
  // A freshness bound shorter than the templates' age (47 h or more): templates are exempt, instances are as old as
  // their due time (today's: under 24 h), so the schedule keeps running.
  const bound = await gitbus(['trust', 'max-handoff-age', '36h', '--key', key('alice'), '--json'], { home: boss });
  expect(bound.code, bound.stderr).toBe(0);
  w = await bus.addNode('w', [], ['--runner', 'shell', '--trust', fp('alice')]);
  const bossYaml = join(boss, 'node.yaml');
  writeFileSync(bossYaml, stringify({ ...(parse(readFileSync(bossYaml, 'utf8')) as object), signingKey: key('alice') }));
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);

  const nightly = template('nightly', `echo ran >> ${marker('nightly')}`);
  const unsigned = template('unsigned-nightly', `touch ${marker('unsigned-nightly')}`);
  const render = (due: Date) => {
    const r = renderInstance({ id: 'nightly', handoff: nightly.handoff, body: nightly.body }, due);
    if (!r.ok) throw new Error(r.reason);
    return r;
  };
  const altered = render(yesterday);
  // The unsigned template's instance for today, written by hand as an older or careless watcher would have: a
  // watcher that enforces trust makes no instance of a template nobody allowed signed.
  const unsignedInstance = renderInstance({ id: 'unsigned-nightly', handoff: unsigned.handoff, body: unsigned.body }, today);
  if (!unsignedInstance.ok) throw new Error(unsignedInstance.reason);
  const off = render(new Date(yesterday.getTime() + 30 * 60_000));
  expect(off.id).toBe(ids.offSchedule);
  push({
    [nightly.path]: nightly.text,
    [`signatures/${nightly.path}.sig`]: sshSign(nightly.path, nightly.text, 'alice'),
    [unsigned.path]: unsigned.text,
    [unsignedInstance.path]: unsignedInstance.text,
    [altered.path]: altered.text.replace(`echo ran >> ${marker('nightly')}`, `touch ${marker('altered')}`),
    [off.path]: off.text,
  }, 'two schedules and two instances no watcher wrote');
  const d = await gitbus(['dispatch', 'signed plain', '--id', ids.plain, '--to', 'w', '--command', 'true', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
  expect(d.code, d.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('schedules on a bus whose trust root the node pinned', () => {
  it('status and lint on the worker say why each hand-made instance is untrusted, before anything runs', async () => {
    const s = json<{ tasks: { id: string; state: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    const untrusted = new Map(s.tasks.map((t) => [t.id, t.untrusted]));
    expect(untrusted.get(ids.altered)).toMatch(REFUSED['altered']?.reason ?? /x/);
    expect(untrusted.get(ids.offSchedule)).toMatch(REFUSED['off schedule']?.reason ?? /x/);
    expect(untrusted.get('nightly')).toBeUndefined();
    expect(untrusted.get('unsigned-nightly')).toMatch(/^unsigned: handoffs\/unsigned-nightly\.md has no signature/);
    const lint = json<{ problems: { path: string; reason: string }[] }>(await gitbus(['lint', '--json'], { home: w }));
    expect(lint.problems.find((p) => p.path === `handoffs/${ids.altered}.md`)?.reason).toMatch(/^untrusted on node w .*its bytes are not what the template renders/);
    expect(lint.problems.some((p) => p.path === 'handoffs/nightly.md')).toBe(false);
  });

  it('the instance the watcher dispatches from the signed template runs, under a maxHandoffAge shorter than the template\'s age; the others are answered "refused" and run nothing', async () => {
    expect(json<{ accepted: { maxHandoffAge: string } }>(await gitbus(['trust', 'list', '--json'], { home: w })).accepted.maxHandoffAge).toBe('36h');
    const ww = startWatcher(w, ['--poll', '1s'], children);
    watcher = ww;
    // w's watcher writes it, unsigned, as the template renders it for the latest due time (today's, unless the
    // test runs across midnight UTC).
    const dispatched = (template: string) => ww.events().find((e) => e.type === 'scheduled' && e['template'] === template)?.id;
    await until('the watcher to dispatch the signed schedule', () => dispatched('nightly') !== undefined, 20_000, () => ww.stderr());
    ids.signedRun = dispatched('nightly') ?? '';
    const ok = await ended(ids.signedRun);
    expect(ok.state).toBe('succeeded');
    expect(readFileSync(marker('nightly'), 'utf8')).toBe('ran\n');
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'signatures/handoffs'], bus.remote)).not.toContain(ids.signedRun);
    for (const [name, c] of Object.entries(REFUSED)) {
      const r = await ended(c.id());
      expect(r.state, name).toBe('failed');
      expect(r.reason, name).toMatch(/^refused: untrusted: /);
      expect(r.reason, name).toMatch(c.reason);
      expect(r.reason, name).toContain('nothing was run');
    }
    expect(existsSync(marker('altered'))).toBe(false);
    expect(existsSync(marker('unsigned-nightly'))).toBe(false);
    // The unsigned template made no instance of its own (the one refused above was written by hand).
    expect(dispatched('unsigned-nightly')).toBeUndefined();
    // Only today's instance ran the template's command: the off-schedule one did not append.
    expect(readFileSync(marker('nightly'), 'utf8')).toBe('ran\n');
    expect((await ended(ids.plain)).state).toBe('succeeded');
  });

  it('archiving moves the signatures with their files, and verify checks the archived task from the archive', async () => {
    const handoffSig = `signatures/handoffs/${ids.plain}.md.sig`;
    const sigOid = gitCli(['rev-parse', `main:${handoffSig}`], bus.remote);
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).toEqual(expect.arrayContaining([ids.plain, ids.signedRun]));
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote)).not.toContain(handoffSig);
    const month = gitCli(['ls-tree', '--name-only', 'archive'], bus.remote).split('\n').find((m) => /^\d{4}-\d{2}$/.test(m)) ?? '';
    const archivedSig = `signatures/${month}/${ids.plain}/handoff.md.sig`;
    expect(gitCli(['ls-tree', '-r', '--name-only', 'archive', 'signatures'], bus.remote).split('\n')).toContain(archivedSig);
    // Byte for byte the sidecar main had.
    expect(gitCli(['rev-parse', `archive:${archivedSig}`], bus.remote)).toBe(sigOid);
    const v = await gitbus(['verify', ids.plain, '--json'], { home: boss });
    expect(v.code, v.stderr).toBe(0);
    const r = json<{ archived: string | null; files: { path: string; status: string; signatures: { sidecar: string; ok: boolean; signer: { fingerprint: string } | null }[] }[] }>(v);
    expect(r.archived).toBe(month);
    const handoff = r.files.find((f) => f.path === `handoffs/${ids.plain}.md`);
    expect(handoff?.status).toBe('verified');
    expect(handoff?.signatures[0]).toMatchObject({ sidecar: archivedSig, ok: true, signer: { fingerprint: fp('alice') } });
  });

  it('verify still finds the signature of a task archived before signatures moved, in main', async () => {
    const id = 'archived-earlier';
    const path = `handoffs/${id}.md`;
    const text = renderBusFile('handoff', { id, title: 'old', command: 'true' } as Handoff, '');
    const response = renderBusFile('response', { id, status: 'succeeded', node: 'w', attempt: 1, finished: now.toISOString() } as TaskResponse, '## Summary\n\nok.\n');
    const month = now.toISOString().slice(0, 7);
    const arch = join(bus.dir, 'person-archive');
    gitCli(['clone', '-q', '-b', 'archive', bus.remote, arch]);
    mkdirSync(join(arch, month, id), { recursive: true });
    writeFileSync(join(arch, month, id, 'handoff.md'), text);
    writeFileSync(join(arch, month, id, 'response.md'), response);
    gitCli(['add', '-A'], arch);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'archived the old way'], arch);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
    push({ [`signatures/${path}.sig`]: sshSign(path, text, 'alice') }, 'its signature stayed in main');
    const v = await gitbus(['verify', id, '--json'], { home: boss });
    expect(v.code, v.stderr).toBe(0);
    const r = json<{ archived: string | null; files: { path: string; status: string; signatures: { sidecar: string; ok: boolean }[] }[] }>(v);
    expect(r.archived).toBe(month);
    expect(r.files.find((f) => f.path === path)).toMatchObject({ status: 'verified', signatures: [{ sidecar: `signatures/${path}.sig`, ok: true }] });
  });

  it('an archived instance pushed back into main is refused as a replay, and does not run again', async () => {
    const month = gitCli(['ls-tree', '--name-only', 'archive'], bus.remote).split('\n').find((m) => /^\d{4}-\d{2}$/.test(m)) ?? '';
    const bytes = gitCli(['show', `archive:${month}/${ids.signedRun}/handoff.md`], bus.remote);
    push({ [`handoffs/${ids.signedRun}.md`]: bytes }, 'replay an instance');
    const r = await ended(ids.signedRun);
    expect(r.state).toBe('failed');
    expect(r.reason).toMatch(new RegExp(`^refused: untrusted: replayed: task ${ids.signedRun} was found on the archive branch \\(\\d{4}-\\d{2}/${ids.signedRun}/\\): it already ended \\(succeeded\\) and was archived`));
    expect(readFileSync(marker('nightly'), 'utf8')).toBe('ran\n');
  });
});
