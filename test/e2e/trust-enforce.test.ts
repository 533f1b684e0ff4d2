import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf, NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { showInProcess } from '../helpers/in-process.js';

/**
 * Signed handoffs enforced (issue 11 point 3, first half), with real ssh-keygen keys and the CLI and a watcher as
 * processes. The bus has a trust root (admin alice; signers bob and carol; alice and carol may dispatch shell
 * tasks, bob only claude tasks); worker w pinned it and revoked carol's key. Only alice's signed task runs: an
 * unsigned one, one signed by a key not in trust, one with a signature of the wrong namespace, one signed by a
 * signer not allowed for the shell runner, one carrying a signature copied from another task and one signed by a
 * revoked key are each refused with their reason, and nothing runs; so is alice's handoff pushed back after its task
 * was archived (a replay). dispatch, run, fanout and cancel sign what they write, in the same commit; without a
 * key, dispatch on such a bus is refused unless --unsigned.
 */
const FINAL = ['succeeded', 'failed', 'timed-out', 'cancelled'];

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let keys: string;
let person: string;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];
const key = (name: string) => join(keys, name);
const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
const marker = (name: string) => join(bus.dir, `ran-${name}`);
const ids: Record<string, string> = {};

function editYaml(home: string, change: (c: Record<string, unknown>) => void): void {
  const path = join(home, 'node.yaml');
  const c = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(c);
  writeFileSync(path, stringify(c));
}

/** Sets (or, with null, removes) the boss's signing key. */
function signWith(name: string | null): void {
  editYaml(boss, (c) => {
    if (name === null) delete c['signingKey'];
    else c['signingKey'] = key(name);
  });
}

async function dispatchAs(signer: string | null, name: string, extra: string[] = ['--to', 'w']): Promise<RunResult> {
  signWith(signer);
  return gitbus(['dispatch', name, '--command', `touch ${marker(name)}`, ...extra, '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
}

async function dispatchOk(signer: string | null, name: string, extra?: string[]): Promise<string> {
  const r = await dispatchAs(signer, name, extra);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const id = json<{ id: string }>(r).id;
  ids[name] = id;
  return id;
}

/** Writes files into main as anyone with push access could, with plain git. */
const push = (files: Record<string, string>, message: string): void => pushFiles(person, files, message);

/** An SSHSIG of the handoff of `id` by `name`'s key in `namespace`, over gitbus's message for that path. */
function sshSign(id: string, name: string, namespace: string): string {
  const path = `handoffs/${id}.md`;
  const bytes = Buffer.from(gitCli(['show', `main:${path}`], bus.remote), 'utf8');
  return execFileSync('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', key(name)], { input: Buffer.concat([Buffer.from(`gitbus handoff v1\n${path}\n`), bytes]), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
}

async function ended(id: string): Promise<{ state: string; reason: string }> {
  let shown: { state: string; files: { path: string; text: string }[] } = { state: '', files: [] };
  await until(`${id} to end`, async () => {
    shown = await showInProcess<typeof shown>(boss, id);
    return FINAL.includes(shown.state);
  }, 20_000, () => `${JSON.stringify(shown)}\n${watcher.stderr()}`);
  const text = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
  return { state: shown.state, reason: String((parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '') as { reason?: string }).reason ?? '') };
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  mkdirSync(keys);
  for (const name of ['alice', 'bob', 'carol', 'mallory']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key(name)]);
  const admin = async (args: string[]) => {
    const r = await gitbus([...args, '--key', key('alice'), '--json'], { home: boss });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  };
  await admin(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept']);
  await admin(['trust', 'add', 'signer', 'bob', `${key('bob')}.pub`]);
  await admin(['trust', 'add', 'signer', 'carol', `${key('carol')}.pub`]);
  await admin(['trust', 'add', 'rule', '--signers', 'alice,carol', '--runners', 'shell', '--nodes', '*']);
  await admin(['trust', 'add', 'rule', '--signers', 'bob', '--runners', 'claude', '--nodes', '*']);
  w = await bus.addNode('w', [], ['--runner', 'shell', '--trust', fp('alice')]);
  editYaml(w, (c) => {
    c['trust'] = { revoke: [fp('carol')] };
  });
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);

  await dispatchOk('alice', 'signed');
  await dispatchOk('mallory', 'forged');
  await dispatchOk('bob', 'wrong-runner');
  await dispatchOk('carol', 'revoked');
  await dispatchOk(null, 'unsigned', ['--to', 'w', '--unsigned']);
  await dispatchOk(null, 'namespace', ['--to', 'w', '--unsigned']);
  await dispatchOk(null, 'copied', ['--to', 'w', '--unsigned']);
  await dispatchOk(null, 'anyone', ['--unsigned']);
  const signedSig = gitCli(['show', `main:signatures/handoffs/${ids['signed']}.md.sig`], bus.remote);
  push({
    [`signatures/handoffs/${ids['namespace']}.md.sig`]: sshSign(ids['namespace'] ?? '', 'alice', 'gitbus-claim@v1'),
    [`signatures/handoffs/${ids['copied']}.md.sig`]: signedSig,
  }, 'signatures by hand');
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

const REFUSED: Record<string, RegExp> = {
  unsigned: /unsigned: handoffs\/.* has no signature/,
  forged: /does not list as a signer of handoffs/,
  namespace: /bad signature \(wrong-namespace\)/,
  'wrong-runner': /signed by bob .*may not make node w run this shell task/,
  copied: /bad signature \(mismatch\)/,
  revoked: /a key this node revoked/,
};

describe('signed handoffs, enforced by a node that pinned the trust root', () => {
  it('dispatch signs with the configured key, in the same commit, and ssh-keygen -Y verify accepts it', () => {
    const id = ids['signed'] ?? '';
    const commit = gitCli(['log', '-1', '--format=%H', 'main', '--', `handoffs/${id}.md`], bus.remote).trim();
    const changed = gitCli(['show', '--name-only', '--format=', commit], bus.remote).split('\n').filter(Boolean);
    expect(changed.sort()).toEqual([`handoffs/${id}.md`, `signatures/handoffs/${id}.md.sig`]);
    const dir = join(bus.dir, 'verify');
    mkdirSync(dir);
    writeFileSync(join(dir, 'allowed'), `alice ${readFileSync(`${key('alice')}.pub`, 'utf8')}`);
    writeFileSync(join(dir, 'sig'), gitCli(['show', `main:signatures/handoffs/${id}.md.sig`], bus.remote));
    const bytes = gitCli(['show', `main:handoffs/${id}.md`], bus.remote);
    const out = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed'), '-I', 'alice', '-n', 'gitbus-handoff@v1', '-s', join(dir, 'sig')], { input: `gitbus handoff v1\nhandoffs/${id}.md\n${bytes}`, encoding: 'utf8' });
    expect(out).toContain('Good "gitbus-handoff@v1" signature for alice');
  });

  it('without a key, dispatch on a bus whose trust root this node pinned is refused with the fix; --unsigned writes it anyway', async () => {
    const r = await dispatchAs(null, 'nokey');
    expect(r.code).not.toBe(0);
    const err = json<{ error: { code: string; message: string; fix: string } }>(r).error;
    expect(err.code).toBe('SIGNING_REQUIRED');
    expect(err.fix).toContain('signingKey');
    expect(err.fix).toContain('--unsigned');
    // dispatch has no --key flag: the error neither says it looked there nor tells to pass it, and gives one fix.
    expect(err.message).not.toContain('--key');
    expect(err.fix).not.toContain('--key');
    expect(r.stderr.match(/fix:/g), r.stderr).toHaveLength(1);
    // The unsigned ones of beforeAll went through with --unsigned, with no sidecar.
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'signatures/handoffs'], bus.remote)).not.toContain(`${ids['unsigned']}.md.sig`);
  });

  it('status and lint on the worker say untrusted, with the reason, before anything runs', async () => {
    const s = json<{ trust: { version: number } | null; tasks: { id: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    expect(s.trust?.version).toBe(5);
    const untrusted = new Map(s.tasks.map((t) => [t.id, t.untrusted]));
    expect(untrusted.get(ids['signed'] ?? '')).toBeUndefined();
    for (const [name, re] of Object.entries(REFUSED)) expect(untrusted.get(ids[name] ?? ''), name).toMatch(re);
    expect(untrusted.get(ids['anyone'] ?? '')).toMatch(/unsigned/);
    const human = await gitbus(['status'], { home: w });
    expect(human.stdout).toContain('untrusted (this node will not run it): unsigned');
    const lint = json<{ problems: { path: string; reason: string }[] }>(await gitbus(['lint', '--json'], { home: w }));
    for (const [name, re] of Object.entries(REFUSED)) {
      const p = lint.problems.find((x) => x.path === `handoffs/${ids[name]}.md`);
      expect(p?.reason, name).toMatch(/^untrusted on node w/);
      expect(p?.reason, name).toMatch(re);
    }
    expect(lint.problems.some((x) => x.path === `handoffs/${ids['signed']}.md`)).toBe(false);
  });

  it('verify on a pinned node names signers from the version it accepts, never from the bus\'s copy of allowed_signers', async () => {
    const copy = gitCli(['show', 'main:trust/allowed_signers'], bus.remote);
    const mallory = readFileSync(`${key('mallory')}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    push({ 'trust/allowed_signers': `${copy.trimEnd()}\nalice ${mallory}\n` }, 'mallory listed as alice in the copy');
    try {
      const r = await gitbus(['verify', ids['forged'] ?? '', '--json'], { home: w });
      const v = json<{ files: { status: string; signatures: { principals: string[] | null }[] }[]; allowedSigners: { source: string; version?: number } }>(r);
      expect(v.allowedSigners.source).toBe('accepted');
      expect(v.files[0]?.signatures[0]?.principals ?? []).not.toContain('alice');
      const human = await gitbus(['verify', ids['forged'] ?? ''], { home: w });
      expect(human.stdout).not.toMatch(/\(alice\)/);
      expect(human.stdout).toMatch(/accepted by this node/);
      // The admin's node pinned at trust init: the same.
      const b = await gitbus(['verify', ids['forged'] ?? '', '--json'], { home: boss });
      expect(json<{ allowedSigners: { source: string } }>(b).allowedSigners.source).toBe('accepted');
    } finally {
      push({ 'trust/allowed_signers': copy }, 'the copy restored');
    }
  });

  it('claim --next takes the signed task only', async () => {
    // Every other task addressed to w is untrusted: claim --next skips them. Released again for the watcher to run.
    const r = await gitbus(['claim', '--next', '--json'], { home: w });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ id: string }>(r).id).toBe(ids['signed']);
    const rel = await gitbus(['release', ids['signed'] ?? '', '--json'], { home: w });
    expect(rel.code, rel.stderr).toBe(0);
  });

  it('verify on the worker gives the verdict its watcher acts on: the signed task runs here, each refused one says why, and the claim counts', async () => {
    type Verified = { files: { path: string; status: string; verdict: { trusted: boolean; reason: string; fix?: string; notForThisNode?: true } | null }[] };
    const signed = json<Verified>(await gitbus(['verify', ids['signed'] ?? '', '--json'], { home: w }));
    const [handoff, ...rest] = signed.files;
    expect(handoff?.verdict).toMatchObject({ trusted: true, reason: expect.stringMatching(/^this node would run it: signed by alice \(SHA256:.*\), allowed by rule 1$/) });
    // Claimed and released by the test before: w is not listed, and this version accepts unlisted nodes.
    expect(rest.map((f) => [f.path.split('/')[0], f.verdict?.trusted])).toEqual([['claims', true], ['releases', true]]);
    expect(rest[0]?.verdict?.reason).toMatch(/^counts: node w is not listed, and trust version \d+ accepts unlisted nodes/);
    for (const [name, re] of Object.entries(REFUSED)) {
      const r = await gitbus(['verify', ids[name] ?? '', '--json'], { home: w });
      const v = json<Verified>(r).files[0]?.verdict;
      expect(v?.trusted, name).toBe(false);
      expect(v?.reason, name).toMatch(re);
      expect(v?.fix, name).toBeTruthy();
    }
    const human = await gitbus(['verify', ids['revoked'] ?? ''], { home: w });
    expect(human.stdout).toMatch(/trust: refused here: .*a key this node revoked/);
    expect((await gitbus(['verify', ids['unsigned'] ?? ''], { home: w })).stdout).toMatch(/\.md: unsigned\n {6}trust: refused here: unsigned: handoffs\/\S+ has no signature/);
    // The boss pinned the root too, but the task is w's: not for the boss to run, its signature judged for w.
    expect(json<Verified>(await gitbus(['verify', ids['signed'] ?? '', '--json'], { home: boss })).files[0]?.verdict).toMatchObject({ trusted: false, notForThisNode: true, reason: expect.stringMatching(/^this node would not run it: it is addressed to node w; signed by alice \(SHA256:\S+\), allowed by rule 1 for node w$/) });
  });

  it('the watcher runs the signed task and answers each untrusted one addressed to it "refused", running nothing', async () => {
    watcher = startWatcher(w, ['--poll', '1s'], children);
    const ok = await ended(ids['signed'] ?? '');
    expect(ok.state).toBe('succeeded');
    expect(existsSync(marker('signed'))).toBe(true);
    for (const [name, re] of Object.entries(REFUSED)) {
      const r = await ended(ids[name] ?? '');
      expect(r.state, name).toBe('failed');
      expect(r.reason, name).toMatch(/^refused: untrusted: /);
      expect(r.reason, name).toMatch(re);
      expect(r.reason, name).toContain('nothing was run');
      expect(existsSync(marker(name)), name).toBe(false);
    }
    // Not addressed to w: skipped, not answered.
    const anyone = json<{ state: string }>(await gitbus(['show', ids['anyone'] ?? '', '--json'], { home: boss }));
    expect(anyone.state).toBe('pending');
    expect(existsSync(marker('anyone'))).toBe(false);
  });

  it('run signs its handoff, and the node runs it', async () => {
    signWith('alice');
    const r = await gitbus(['run', 'w', '--json', '--', 'echo', 'signed-run'], { home: boss, env: NO_GIT_KEY });
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ id: string; status: string; output: string }>(r);
    expect(out.status).toBe('succeeded');
    expect(out.output).toContain('signed-run');
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'signatures/handoffs'], bus.remote)).toContain(`${out.id}.md.sig`);
  });

  it('fanout signs every handoff, each sidecar in the fan-out\'s one commit', async () => {
    signWith('alice');
    const project = join(bus.dir, 'project.git');
    const work = join(bus.dir, 'work');
    gitCli(['init', '-q', '--bare', '-b', 'main', project]);
    gitCli(['init', '-q', '-b', 'main', work]);
    gitCli(['remote', 'add', 'origin', project], work);
    writeFileSync(join(work, 'README'), 'app\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'base'], work);
    gitCli(['push', '-q', '-u', 'origin', 'main'], work);
    const plan = join(bus.dir, 'plan.md');
    writeFileSync(plan, '---\ntitle: Two parts\nworkstreams:\n  - name: one\n    tasks: One.\n  - name: two\n    tasks: Two.\n---\nBrief.\n');
    const r = await gitbus(['fanout', plan, '--group', 'signed-fan', '--json'], { home: boss, cwd: work, env: NO_GIT_KEY });
    expect(r.code, r.stderr).toBe(0);
    const tasks = json<{ tasks: { id: string }[] }>(r).tasks;
    expect(tasks.length).toBe(3);
    const changed = gitCli(['show', '--name-only', '--format=', 'main'], bus.remote).split('\n').filter(Boolean).sort();
    expect(changed).toEqual(tasks.flatMap((t) => [`handoffs/${t.id}.md`, `signatures/handoffs/${t.id}.md.sig`]).sort());
    const v = json<{ files: { path: string; status: string }[] }>(await gitbus(['verify', tasks[0]?.id ?? '', '--json'], { home: boss }));
    expect(v.files[0]?.status).toBe('verified');
  });

  it('cancel signs the cancel it writes', async () => {
    signWith('alice');
    const r = await gitbus(['cancel', ids['anyone'] ?? '', '--json'], { home: boss });
    expect(r.code, r.stderr).toBe(0);
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'signatures/cancels'], bus.remote)).toContain(`${ids['anyone']}.md.sig`);
    const v = json<{ files: { path: string; status: string }[] }>(await gitbus(['verify', ids['anyone'] ?? '', '--json'], { home: boss }));
    expect(v.files.find((f) => f.path.startsWith('cancels/'))?.status).toBe('verified');
  });
  it('a signed handoff pushed back after its task ended and was archived is refused as replayed, and does not run again', async () => {
    const id = ids['signed'] ?? '';
    const handoff = gitCli(['show', `main:handoffs/${id}.md`], bus.remote);
    const a = await gitbus(['archive', '--all', '--json'], { home: boss });
    expect(a.code, a.stderr).toBe(0);
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'handoffs'], bus.remote)).not.toContain(id);
    rmSync(marker('signed'));
    // Its signature went to the archive with it; both come back under its own id, as anyone with push access could do.
    const sigPath = `signatures/handoffs/${id}.md.sig`;
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'signatures/handoffs'], bus.remote)).not.toContain(sigPath);
    const month = gitCli(['ls-tree', '--name-only', 'archive'], bus.remote).split('\n').find((m) => /^\d{4}-\d{2}$/.test(m)) ?? '';
    push({ [`handoffs/${id}.md`]: handoff, [sigPath]: gitCli(['show', `archive:signatures/${month}/${id}/handoff.md.sig`], bus.remote) }, 'replay');
    const r = await ended(id);
    expect(r.state).toBe('failed');
    expect(r.reason).toMatch(/^refused: untrusted: replayed: task \S+ was found on the archive branch \(\d{4}-\d{2}\/\S+\/\): it already ended \(succeeded\) and was archived/);
    expect(existsSync(marker('signed'))).toBe(false);
  });
});

describe('a signed freshness bound (maxHandoffAge)', () => {
  /** A handoff written by hand with `created`, signed by alice with ssh-keygen as dispatch would sign it, pushed with its sidecar. */
  function pushSigned(id: string, created: string, to?: string): void {
    const path = `handoffs/${id}.md`;
    const text = `---\nid: ${id}\ntitle: ${id}\nfrom: alice\ncreated: ${created}\n${to ? `to: ${to}\n` : ''}command: touch ${marker(id)}\n---\n`;
    const sig = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'gitbus-handoff@v1', '-f', key('alice')], { input: Buffer.from(`gitbus handoff v1\n${path}\n${text}`), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
    push({ [path]: text, [`signatures/${path}.sig`]: sig }, `signed ${id}`);
  }
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

  it('an admin sets it with "gitbus trust max-handoff-age" (a duration), and trust list shows it', async () => {
    const before = await gitbus(['trust', 'list'], { home: w });
    expect(before.stdout).toContain('max handoff age: 30d');
    const r = await gitbus(['trust', 'max-handoff-age', '1h', '--key', key('alice'), '--json'], { home: boss });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ status: string; version: number }>(r)).toMatchObject({ status: 'accepted', version: 6 });
    expect(gitCli(['show', 'main:trust/chain/6.policy.yaml'], bus.remote)).toMatch(/^maxHandoffAge: 1h$/m);
    const bad = await gitbus(['trust', 'max-handoff-age', '1 hour', '--key', key('alice'), '--json'], { home: boss });
    expect(bad.code).not.toBe(0);
    expect(json<{ error: { message: string; fix: string } }>(bad).error.fix).toMatch(/duration/);
    const list = json<{ accepted: { version: number; maxHandoffAge: string } }>(await gitbus(['trust', 'list', '--json'], { home: w }));
    expect(list.accepted).toMatchObject({ version: 6, maxHandoffAge: '1h' });
  });

  it('status on the worker names a stale signed handoff and one dated ahead; claim refuses them; the watcher answers the stale one addressed to it and runs a fresh one', async () => {
    pushSigned('stale-anyone', hoursAgo(3));
    pushSigned('dated-ahead', new Date(Date.now() + 86_400_000).toISOString());
    const s = json<{ trust: { version: number } | null; tasks: { id: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    expect(s.trust?.version).toBe(6);
    const untrusted = new Map(s.tasks.map((t) => [t.id, t.untrusted]));
    expect(untrusted.get('stale-anyone')).toMatch(/^stale: handoffs\/stale-anyone\.md was signed with created \S+, older than the trust policy's maxHandoffAge \(1h, trust version 6\); a replayed old handoff is refused$/);
    expect(untrusted.get('dated-ahead')).toMatch(/^dated ahead: handoffs\/dated-ahead\.md was signed with created \S+, further ahead of this node's clock \(\S+\) than the trust policy's maxHandoffAge/);
    const claim = await gitbus(['claim', 'stale-anyone', '--json'], { home: w });
    expect(claim.code).not.toBe(0);
    expect(claim.stdout + claim.stderr).toMatch(/stale: handoffs\/stale-anyone\.md/);

    pushSigned('stale-to-w', hoursAgo(2), 'w');
    const refused = await ended('stale-to-w');
    expect(refused.state).toBe('failed');
    expect(refused.reason).toMatch(/^refused: untrusted: stale: handoffs\/stale-to-w\.md was signed with created \S+, older than the trust policy's maxHandoffAge \(1h, trust version 6\)/);
    expect(existsSync(marker('stale-to-w'))).toBe(false);
    const fresh = await dispatchOk('alice', 'fresh');
    expect((await ended(fresh)).state).toBe('succeeded');
    expect(existsSync(marker('fresh'))).toBe(true);
    // Neither refused one addressed to nobody ran.
    expect(existsSync(marker('stale-anyone'))).toBe(false);
    expect(existsSync(marker('dated-ahead'))).toBe(false);
  });
});
