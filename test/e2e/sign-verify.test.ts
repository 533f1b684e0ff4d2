import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { git as personGit, gitOk as personGitOk } from '../helpers/person-git.js';
import { makeBus } from '../helpers/bus.js';

/**
 * `gitbus sign` in a person's clone of the bus and `gitbus verify` on a node, with real ssh-keygen keys; the
 * pre-commit hook's reminder for an unsigned handoff on a bus with trust/, and its refusal of a copied signature.
 */

const ID = '20261121-042933-signed';
const ID2 = '20261121-042934-copied';
const HANDOFF = '---\ntitle: Signed by hand\nlabels: []\n---\n## Task\n\nCheck the thing.\n';

/** A person's git, with no SSH agent: the keys tests sign with are files. */
const NO_AGENT = { SSH_AUTH_SOCK: '' };
const git = (args: string[], cwd: string) => personGit(args, cwd, NO_AGENT);
const gitOk = (args: string[], cwd: string) => personGitOk(args, cwd, NO_AGENT);

interface VerifyJson {
  id: string;
  files: { path: string; status: string; namespace: string; signatures: { sidecar: string; ok: boolean; reason: string | null; signer: { fingerprint: string } | null; principals: string[] | null }[] }[];
  allowedSigners: { entries: number; source: string } | null;
}

describe('gitbus sign and gitbus verify', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  let key: string;
  let fingerprint: string;
  const noAgent = { SSH_AUTH_SOCK: '' };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    work = join(bus.dir, 'person');
    await gitOk(['clone', '-q', '-b', 'main', bus.remote, work], bus.dir);
    const r = await gitbus(['hooks', 'install'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    key = join(bus.dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
    fingerprint = execFileSync('ssh-keygen', ['-lf', `${key}.pub`]).toString().split(' ')[1] ?? '';
    await mkdir(join(work, 'trust'), { recursive: true });
    await writeFile(join(work, 'trust', 'allowed_signers'), `alice@example.com ${(await readFile(`${key}.pub`, 'utf8')).trim()}\n`);
  });
  afterAll(async () => bus?.cleanup());

  it('the pre-commit hook names the sign command for an unsigned handoff on a bus with trust/, and commits anyway', async () => {
    await mkdir(join(work, 'handoffs'), { recursive: true });
    await writeFile(join(work, 'handoffs', `${ID}.md`), HANDOFF);
    await gitOk(['add', 'trust/allowed_signers', `handoffs/${ID}.md`], work);
    const c = await git(['commit', '-m', 'a handoff by hand'], work);
    expect(c.code, c.out).toBe(0);
    expect(c.out).toContain(`gitbus sign handoffs/${ID}.md && git add signatures/handoffs/${ID}.md.sig`);
  });

  it('signs the handoff in the checkout, once, and the hook lets the signature through', async () => {
    const r = await gitbus(['sign', `handoffs/${ID}.md`, '--key', key, '--json'], { cwd: work, env: noAgent });
    expect(r.code, r.stderr).toBe(0);
    const j = json<{ sidecar: string; outcome: string; namespace: string; signer: { fingerprint: string } }>(r);
    expect(j).toMatchObject({ sidecar: `signatures/handoffs/${ID}.md.sig`, outcome: 'signed', namespace: 'gitbus-handoff@v1', signer: { fingerprint } });
    expect(existsSync(join(work, 'signatures', 'handoffs', `${ID}.md.sig`))).toBe(true);
    const again = json<{ outcome: string }>(await gitbus(['sign', join(work, 'handoffs', `${ID}.md`), '--key', key, '--json'], { env: noAgent }));
    expect(again.outcome).toBe('already-signed');
    await gitOk(['add', `signatures/handoffs/${ID}.md.sig`], work);
    const c = await git(['commit', '-m', 'sign it'], work);
    expect(c.code, c.out).toBe(0);
    expect(c.out).not.toContain('error:');
  });

  it('verify reports the handoff signed, by whom, and the claim unsigned', async () => {
    const claim = await gitbus(['claim', ID, '--json'], { home: bus.home('alpha') });
    expect(claim.code, claim.stderr).toBe(0);
    const r = await gitbus(['verify', ID, '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    const j = json<VerifyJson>(r);
    expect(j.allowedSigners?.entries).toBe(1);
    // No trust root pinned here: the names come from the bus's copy, and the answer says it is not trusted.
    expect(j.allowedSigners?.source).toBe('bus-copy');
    expect((await gitbus(['verify', ID], { home: bus.home('alpha') })).stdout).toContain("(the bus's copy, not trusted");
    const [handoff, claimFile] = j.files;
    expect(handoff).toMatchObject({ path: `handoffs/${ID}.md`, status: 'verified', namespace: 'gitbus-handoff@v1' });
    expect(handoff?.signatures[0]).toMatchObject({ ok: true, signer: { fingerprint }, principals: ['alice@example.com'] });
    expect(claimFile).toMatchObject({ path: `claims/${ID}.1.md`, status: 'unsigned', signatures: [] });
    const human = await gitbus(['verify', ID], { home: bus.home('alpha') });
    expect(human.stdout).toContain(`handoffs/${ID}.md: verified, signed by ${fingerprint} (alice@example.com)`);
    expect(human.stdout).toContain(`claims/${ID}.1.md: unsigned`);
  });

  it('a signature copied onto another task is refused by the hook, by lint, and by verify (exit 8)', async () => {
    await writeFile(join(work, 'handoffs', `${ID2}.md`), HANDOFF);
    await copyFile(join(work, 'signatures', 'handoffs', `${ID}.md.sig`), join(work, 'signatures', 'handoffs', `${ID2}.md.sig`));
    await gitOk(['add', `handoffs/${ID2}.md`, `signatures/handoffs/${ID2}.md.sig`], work);
    const refused = await git(['commit', '-m', 'replay a signature'], work);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain(`error: signatures/handoffs/${ID2}.md.sig: signature of handoffs/${ID2}.md: the signature by ${fingerprint} does not match this file`);
    const lint = await gitbus(['lint', work]);
    expect(lint.code).toBe(8);
    expect(lint.stdout).toContain(`signatures/handoffs/${ID2}.md.sig`);
    // Someone with push access skips the hook: the node still tells the forgery apart.
    await gitOk(['commit', '--no-verify', '-q', '-m', 'replay a signature'], work);
    // The node's claim moved main since; the hooks push after the rebase.
    await gitOk(['pull', '-q', '--rebase', 'origin', 'main'], work);
    await gitOk(['push', '-q', 'origin', 'HEAD:main'], work);
    const r = await gitbus(['verify', ID2, '--json'], { home: bus.home('alpha') });
    expect(r.code).toBe(8);
    const file = json<VerifyJson>(r).files[0];
    expect(file).toMatchObject({ status: 'invalid', signatures: [{ ok: false, reason: 'mismatch', signer: { fingerprint } }] });
    const human = await gitbus(['verify', ID2], { home: bus.home('alpha') });
    expect(human.stdout).toContain('INVALID (mismatch)');
    const busLint = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(busLint.code).toBe(8);
    expect(busLint.stdout).toContain(`signatures/handoffs/${ID2}.md.sig`);
  });

  it('sign neither reads nor writes through a folder of the checkout that is a symbolic link, as one pushed into the bus would be', async () => {
    const outside = join(bus.dir, 'outside');
    await mkdir(outside);
    const sidecars = join(work, 'signatures', 'handoffs');
    await rename(sidecars, `${sidecars}.aside`);
    await symlink(outside, sidecars);
    const r = await gitbus(['sign', `handoffs/${ID2}.md`, '--key', key, '--json'], { cwd: work, env: noAgent });
    expect(r.code, r.stdout).toBe(2);
    expect(json<{ error: { message: string } }>(r).error.message).toContain('signatures/handoffs in the checkout');
    expect(readdirSync(outside)).toEqual([]);
    await rm(sidecars);
    await rename(`${sidecars}.aside`, sidecars);
    // The signed file's own folder: its bytes are read from where the link points, not from the bus.
    const handoffs = join(work, 'handoffs');
    await rename(handoffs, `${handoffs}.aside`);
    await writeFile(join(outside, `${ID}.md`), HANDOFF.replace('Check the thing.', 'Something else.'));
    await symlink(outside, handoffs);
    const read = await gitbus(['sign', `handoffs/${ID}.md`, '--key', key, '--json'], { cwd: work, env: noAgent });
    expect(read.code, read.stdout).toBe(2);
    expect(json<{ error: { message: string } }>(read).error.message).toMatch(/^handoffs in the checkout .* is a symbolic link/);
    await rm(handoffs);
    await rename(`${handoffs}.aside`, handoffs);
    // The signature file itself a link (to /dev/zero, or a file outside): refused, neither read nor replaced.
    const sig = readdirSync(sidecars).find((n) => n.startsWith(`${ID}.md.`)) ?? '';
    expect(sig).not.toBe('');
    await rename(join(sidecars, sig), join(outside, 'real.sig'));
    await writeFile(join(outside, 'secret'), 'not a signature\n');
    await symlink(join(outside, 'secret'), join(sidecars, sig));
    const linked = await gitbus(['sign', `handoffs/${ID}.md`, '--key', key, '--json'], { cwd: work, env: noAgent });
    expect(linked.code, linked.stdout).toBe(2);
    expect(json<{ error: { message: string; fix: string } }>(linked).error).toMatchObject({ message: expect.stringMatching(new RegExp(`^signatures/handoffs/${ID}\\.md\\..* is a symbolic link where the signature of handoffs/${ID}\\.md goes`)), fix: expect.stringContaining('git rm -r') });
    expect(lstatSync(join(sidecars, sig)).isSymbolicLink()).toBe(true);
    await rm(join(sidecars, sig));
    await rename(join(outside, 'real.sig'), join(sidecars, sig));
  });

  it('sign says what is wrong: no key configured, a file that is not a bus file', async () => {
    const none = await gitbus(['sign', `handoffs/${ID}.md`, '--json'], { cwd: work, home: join(bus.dir, 'no-home'), env: { ...noAgent, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    expect(none.code).toBe(7);
    expect(json<{ error: { code: string; fix: string } }>(none).error).toMatchObject({ code: 'SIGNING_KEY_MISSING' });
    await writeFile(join(work, 'notes.md'), 'x');
    const notBus = await gitbus(['sign', 'notes.md', '--key', key, '--json'], { cwd: work, env: noAgent });
    expect(notBus.code).toBe(2);
    expect(json<{ error: { code: string } }>(notBus).error.code).toBe('NOT_SIGNABLE');
  });
});
