import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { trustListInProcess } from '../helpers/in-process.js';
import { fingerprintOf, NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { applyEdit, renderVersion } from '../../bus/trust/change.js';
import { parseVersion } from '../../bus/trust/version-content.js';
import { parsePublicKeyLine } from '../../bus/trust/ssh-key.js';

/**
 * The trust root end to end, with real ssh-keygen keys and the CLI as processes: `gitbus trust init` by an admin,
 * nodes pinning it at join (and one that joined before), changes by admins accepted, a change signed by a
 * non-admin refused with its reason, threshold 2, and a key revoked in one node's node.yaml.
 */

interface Check {
  name: string;
  status: string;
  detail: string;
  fix: string | null;
}
interface ListView {
  present: boolean;
  accepted: { version: number; digest: string; admins: string[]; rules: unknown[]; signers: { principals: string[] }[] } | null;
  next: { status: string; version: number; reason?: string; waitingFor?: string[]; rejected: { reason: string }[] } | null;
  pin: { version: number; accepted: number; how: string } | null;
  proposed: { version: number; rules: unknown[] } | null;
}

const errorOf = (r: RunResult) => json<{ error: { code: string; message: string; fix: string } }>(r).error;

describe('the trust root', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let keys: string;
  const key = (name: string) => join(keys, name);
  const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);
  let alpha: string;
  let delta: string;
  const trustCheck = async (home: string): Promise<Check> => {
    const r = await gitbus(['doctor', '--json'], { home });
    const c = json<{ checks: Check[] }>(r).checks.find((x) => x.name === 'trust.root');
    if (!c) throw new Error(`no trust.root check: ${r.stdout}`);
    return c;
  };
  /** `gitbus trust list --json` as a CLI process: what the command prints. */
  const listCli = async (home: string): Promise<ListView> => {
    const r = await gitbus(['trust', 'list', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    return json<ListView>(r);
  };
  /**
   * What a node accepts, pinned, waits for or refused, read in the test's process through the function `trust
   * list` calls (test/helpers/in-process.ts): the tests read it after each step; the command itself runs as a
   * process once per node kind below (an admin's, a node pinned later, one pinned at join).
   */
  const list = async (home: string): Promise<ListView> => trustListInProcess<ListView>(home);
  const ok = async (args: string[], home: string) => {
    const r = await gitbus([...args, '--json'], { home });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return json<{ version: number; status: string; digest: string; waitingFor: string[] }>(r);
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    alpha = bus.home('alpha');
    // Joined before the bus had a trust root: it has nothing pinned.
    delta = await bus.addNode('delta');
    keys = join(bus.dir, 'keys');
    mkdirSync(keys);
    for (const name of ['alice', 'bob', 'carol', 'mallory']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key(name)]);
  });
  afterAll(async () => bus?.cleanup());

  it('without a trust root, doctor skips trust.root and says how to start one; trust list reports it and exits 0 (README)', async () => {
    const c = await trustCheck(alpha);
    expect(c.status).toBe('skip');
    expect(c.detail).toContain('gitbus trust init');
    const r = await gitbus(['trust', 'list'], { home: alpha });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('the bus has no trust root; start one with "gitbus trust init');
    expect((await listCli(alpha)).present).toBe(false);
  });

  it('an admin starts it: version 1, signed and pinned on their node; a node that joined before is told to pin, and pins', async () => {
    const r = await ok(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--key', key('alice')], alpha);
    expect(r).toMatchObject({ version: 1, status: 'accepted' });
    expect((await listCli(alpha)).pin).toMatchObject({ version: 1, accepted: 1, how: 'init' });
    const files = gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote);
    expect(files).toContain('trust/chain/1.yaml');
    expect(files).toMatch(/signatures\/trust\/chain\/1\.yaml\.[0-9a-f]{16}\.sig/);
    const again = await gitbus(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--key', key('alice'), '--json'], { home: alpha });
    expect(again.code).toBe(5);
    expect(errorOf(again).code).toBe('TRUST_ROOT_EXISTS');

    const c = await trustCheck(delta);
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('has not pinned it');
    expect(c.fix).toContain(`gitbus trust pin --trust ${fp('alice')}`);
    const pinned = await gitbus(['trust', 'pin', '--trust', fp('alice'), '--json'], { home: delta });
    expect(pinned.code, pinned.stderr).toBe(0);
    expect((await listCli(delta)).pin).toMatchObject({ version: 1, how: 'fingerprints' });
  });

  it('a file that is not an SSH public key, for --admin or PUBKEYFILE, is a usage error naming them (exit 2), as a missing file is', async () => {
    const notKey = join(bus.dir, 'not-a-key.pub');
    writeFileSync(notKey, 'hello world\n');
    const before = gitCli(['rev-parse', 'main'], bus.remote).trim();
    const cases: [string[], string, string][] = [
      [['trust', 'init', '--admin', `ada=${notKey}`, '--key', key('alice')], '--admin', `--admin ada: ${notKey} is not an SSH public key`],
      [['trust', 'init', '--admin', `ada=${notKey}.missing`, '--key', key('alice')], '--admin', `--admin ada: cannot read the public key ${notKey}.missing`],
      [['trust', 'add', 'signer', 'ada', notKey, '--key', key('alice')], 'PUBKEYFILE', `PUBKEYFILE: ${notKey} is not an SSH public key`],
      [['trust', 'add', 'admin', 'ada', notKey, '--key', key('alice')], 'PUBKEYFILE', `PUBKEYFILE: ${notKey} is not an SSH public key`],
    ];
    for (const [args, flag, message] of cases) {
      const r = await gitbus([...args, '--json'], { home: alpha });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      const e = json<{ error: { code: string; message: string; fix: string; data: { flag?: string } } }>(r).error;
      expect(e.code).toBe('BAD_INPUT');
      expect(e.data.flag).toBe(flag);
      expect(e.message.startsWith(message), e.message).toBe(true);
      expect(e.fix).toContain('.pub file');
    }
    expect(gitCli(['rev-parse', 'main'], bus.remote).trim()).toBe(before);
  });

  it('joining a bus with a trust root: refused without a terminal or a flag (nothing written), refused with another fingerprint, pinned with --trust or --trust-root', async () => {
    const beta = bus.home('beta');
    const none = await gitbus(['join', bus.remote, '--node', 'beta', '--json'], { home: beta });
    expect(none.code).toBe(7);
    expect(errorOf(none).code).toBe('TRUST_PIN_REQUIRED');
    expect(errorOf(none).message).toContain(`alice ${fp('alice')}`);
    expect(errorOf(none).fix).toContain(`--trust ${fp('alice')}`);
    expect(existsSync(beta)).toBe(false);
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'nodes'], bus.remote)).not.toContain('beta');

    const wrong = await gitbus(['join', bus.remote, '--node', 'beta', '--trust', fp('bob'), '--json'], { home: beta });
    expect(wrong.code).toBe(5);
    expect(errorOf(wrong).code).toBe('TRUST_PIN_MISMATCH');
    expect(errorOf(wrong).message).toContain(`alice ${fp('alice')} is missing`);

    const joined = await gitbus(['join', bus.remote, '--node', 'beta', '--trust', fp('alice'), '--json'], { home: beta });
    expect(joined.code, joined.stderr).toBe(0);
    expect(json<{ trust: { version: number; admins: { principal: string; fingerprint: string }[] } }>(joined).trust).toMatchObject({ version: 1, admins: [{ principal: 'alice', fingerprint: fp('alice') }] });

    const digest = (await list(alpha)).accepted?.digest ?? '';
    const gamma = await gitbus(['join', bus.remote, '--node', 'gamma', '--trust-root', digest, '--json'], { home: bus.home('gamma') });
    expect(gamma.code, gamma.stderr).toBe(0);
    expect((await listCli(bus.home('gamma'))).pin).toMatchObject({ version: 1, how: 'digest' });
  });

  it('an admin adds a signer: the node accepts version 2', async () => {
    expect(await ok(['trust', 'add', 'signer', 'bob', `${key('bob')}.pub`, '--key', key('alice')], alpha)).toMatchObject({ version: 2, status: 'accepted' });
    const v = await list(bus.home('beta'));
    expect(v.accepted?.version).toBe(2);
    expect(v.accepted?.signers.map((s) => s.principals[0])).toEqual(['alice', 'bob']);
    expect(v.pin).toMatchObject({ version: 1, accepted: 2 });
    const c = await trustCheck(bus.home('beta'));
    expect(c.status).toBe('ok');
    expect(c.detail).toContain('accepts version 2 of 2');
    expect(c.detail).toContain('pinned version 1 matches the bus');
  });

  it('a trust change signed by a non-admin is refused: by the CLI, and pushed by hand the node stays at version 2 and says why', async () => {
    const cli = await gitbus(['trust', 'add', 'signer', 'mallory', `${key('mallory')}.pub`, '--key', key('bob'), '--json'], { home: bus.home('beta') });
    expect(cli.code).toBe(5);
    expect(errorOf(cli).code).toBe('NOT_TRUST_ADMIN');

    // Someone with push access writes version 3 themselves, signed with bob's key (a signer, not an admin).
    const work = join(bus.dir, 'forger');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    const read = (p: string) => readFileSync(join(work, p));
    const v2 = parseVersion(2, read('trust/chain/2.allowed_signers'), read('trust/chain/2.policy.yaml'));
    if (!v2.ok) throw new Error('version 2 does not parse');
    const mallory = parsePublicKeyLine(readFileSync(`${key('mallory')}.pub`, 'utf8')).key;
    const r = renderVersion(applyEdit(v2.value, { kind: 'add-admin', principal: 'mallory', key: mallory }), v2.value.digest);
    writeFileSync(join(work, 'trust/chain/3.allowed_signers'), r.allowedSigners);
    writeFileSync(join(work, 'trust/chain/3.policy.yaml'), r.policy);
    writeFileSync(join(work, 'trust/chain/3.yaml'), r.link);
    const message = join(bus.dir, 'message');
    writeFileSync(message, Buffer.concat([Buffer.from('gitbus trust v1\ntrust/chain/3.yaml\n'), Buffer.from(r.link)]));
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'gitbus-trust@v1', '-f', key('bob'), message]);
    const bob = parsePublicKeyLine(readFileSync(`${key('bob')}.pub`, 'utf8')).key;
    writeFileSync(join(work, `signatures/trust/chain/3.yaml.${bob.tag}.sig`), readFileSync(`${message}.sig`));
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'make mallory an admin'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    const v = await list(bus.home('beta'));
    expect(v.accepted?.version).toBe(2);
    expect(v.accepted?.admins).toEqual(['alice']);
    expect(v.next).toMatchObject({ status: 'refused', version: 3 });
    expect(v.next?.reason).toContain(`signed by bob (${fp('bob')}), which is not an admin key of version 2`);
    const pin = JSON.parse(readFileSync(join(bus.home('beta'), 'trust-pin.json'), 'utf8')) as { accepted: { version: number } };
    expect(pin.accepted.version).toBe(2);
    const c = await trustCheck(bus.home('beta'));
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('version 3 is refused');
    expect(c.detail).toContain('not an admin key of version 2');
    // lint says so too, as a warning at the refused version's link: nodes go on at version 2.
    const lint = await gitbus(['lint', '--json'], { home: bus.home('beta') });
    expect(json<{ problems: { path: string; reason: string; severity: string }[] }>(lint).problems).toContainEqual(
      expect.objectContaining({ path: 'trust/chain/3.yaml', severity: 'warning', reason: expect.stringContaining('nodes stay at version 2') }),
    );
  });

  it('an admin writes the next version in place of the refused one; with threshold 2 a change waits for a second admin', async () => {
    const taken = await gitbus(['trust', 'add', 'admin', 'carol', `${key('carol')}.pub`, '--key', key('alice'), '--json'], { home: alpha });
    expect(taken.code).toBe(5);
    expect(errorOf(taken).code).toBe('TRUST_VERSION_TAKEN');
    expect(await ok(['trust', 'add', 'admin', 'carol', `${key('carol')}.pub`, '--key', key('alice'), '--replace'], alpha)).toMatchObject({ version: 3, status: 'accepted' });
    expect(await ok(['trust', 'threshold', '2', '--key', key('alice')], alpha)).toMatchObject({ version: 4, status: 'accepted' });

    const proposal = await ok(['trust', 'add', 'rule', '--signers', 'bob', '--runners', 'shell', '--labels', 'gpu', '--max-timeout', '1h', '--key', key('alice')], alpha);
    expect(proposal).toMatchObject({ version: 5, status: 'pending', waitingFor: ['carol'] });
    const waiting = await list(bus.home('beta'));
    expect(waiting.accepted?.version).toBe(4);
    expect(waiting.next).toMatchObject({ status: 'pending', version: 5, waitingFor: ['carol'] });
    // What carol is asked to sign, shown before she signs it.
    expect(waiting.proposed?.rules).toEqual([
      { signers: ['alice'], runners: ['*'], nodes: ['*'] },
      { signers: ['bob'], runners: ['shell'], labels: ['gpu'], maxTimeout: '1h' },
    ]);
    expect((await trustCheck(bus.home('beta'))).detail).toContain('waits for 1 more admin signature(s) (carol)');

    const signed = await ok(['trust', 'sign', '5', '--key', key('carol')], bus.home('gamma'));
    expect(signed).toMatchObject({ version: 5, status: 'accepted' });
    const now = await list(bus.home('beta'));
    expect(now.accepted?.version).toBe(5);
    expect(now.accepted?.rules).toHaveLength(2);
    expect(now.next).toBeNull();
  });

  it('a key revoked in node.yaml is refused even though the bus allows it', async () => {
    const beta = bus.home('beta');
    const config = parse(readFileSync(join(beta, 'node.yaml'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(beta, 'node.yaml'), stringify({ ...config, trust: { revoke: [fp('carol')] } }));

    expect(await ok(['trust', 'remove', 'rule', '2', '--key', key('alice')], alpha)).toMatchObject({ version: 6, status: 'pending' });
    expect(await ok(['trust', 'sign', '6', '--key', key('carol')], bus.home('gamma'))).toMatchObject({ version: 6, status: 'accepted' });
    expect((await list(alpha)).accepted?.version).toBe(6);

    const v = await list(beta);
    expect(v.accepted?.version).toBe(5);
    expect(v.next).toMatchObject({ status: 'pending', version: 6 });
    expect(v.next?.rejected[0]?.reason).toContain(`the key ${fp('carol')} is revoked in this node's node.yaml`);
  });

  it('what gitbus trust wrote passes gitbus lint (signatures included)', async () => {
    const r = await gitbus(['lint', '--json'], { home: alpha });
    expect(r.code, r.stdout).toBe(0);
  });
});

describe('a trust root no machine can accept', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    // Someone with push access writes a version 1 that is not a trust root: every join would be refused.
    const work = join(bus.dir, 'junk');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, work]);
    pushFiles(work, { 'trust/chain/1.yaml': 'junk: [\n' }, 'junk');
  });
  afterAll(async () => bus?.cleanup());

  it('is an error in lint and doctor, naming the file, and the joiner is told who repairs it', async () => {
    const lint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(lint.code, lint.stdout).toBe(8);
    const problems = json<{ problems: { path: string; reason: string; fix: string; severity: string }[] }>(lint).problems;
    expect(problems).toEqual([
      expect.objectContaining({ path: 'trust/chain/1.yaml', severity: 'error', reason: expect.stringContaining('every "gitbus join" is refused'), fix: expect.stringContaining('git rm -r trust') }),
    ]);

    const doctor = await gitbus(['doctor', '--json'], { home: bus.home('alpha') });
    const check = json<{ checks: Check[] }>(doctor).checks.find((c) => c.name === 'trust.root');
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot be accepted'), fix: expect.stringContaining('trust/chain/1.yaml') });

    const joined = await gitbus(['join', bus.remote, '--node', 'newcomer', '--json'], { home: bus.home('newcomer'), input: '' });
    expect(joined.code).toBe(8);
    expect(errorOf(joined)).toMatchObject({ code: 'TRUST_ROOT_REFUSED', fix: expect.stringContaining("the bus's admins repair trust/chain/1.yaml") });
    expect(existsSync(bus.home('newcomer'))).toBe(false);
  });
});

describe('trust init without a signing key configured', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let keys: string;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    keys = join(bus.dir, 'keys');
    mkdirSync(keys);
    for (const name of ['ada', 'other']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(keys, name)]);
  });
  afterAll(async () => bus?.cleanup());

  it('signs with the private half of the --admin key beside its .pub file, says so, and names the node.yaml line dispatches need', async () => {
    // A .pub whose neighbour is another key's private half is not taken for the admin's.
    writeFileSync(join(keys, 'copy'), readFileSync(join(keys, 'other')));
    writeFileSync(join(keys, 'copy.pub'), readFileSync(join(keys, 'ada.pub')));
    const refused = await gitbus(['trust', 'init', '--admin', `ada=${join(keys, 'copy')}.pub`, '--json'], { home: bus.home('alpha'), env: NO_GIT_KEY });
    expect(refused.code).toBe(7);
    expect(errorOf(refused).code).toBe('SIGNING_KEY_MISSING');

    const r = await gitbus(['trust', 'init', '--admin', `ada=${join(keys, 'ada')}.pub`], { home: bus.home('alpha'), env: NO_GIT_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`signed by ada ${fingerprintOf(join(keys, 'ada.pub'))}`);
    expect(r.stdout).toContain(`signed with ${join(keys, 'ada')}, the private half of --admin ada's key, as no signing key is configured here`);
    expect(r.stdout).toContain(`signingKey: ${join(keys, 'ada')}`);
  });
});
