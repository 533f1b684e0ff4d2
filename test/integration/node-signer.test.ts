import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNodeKey } from '../../bus/trust/node-key.js';
import { loadEd25519Key, readEd25519Key, signBusFileInProcess, signInProcess } from '../../bus/trust/node-signer.js';
import { nodeSignerLine } from '../../bus/trust/node-keys.js';
import { SigningKeyInvalidError } from '../../bus/trust/errors.js';

/**
 * The node key signs in-process (bus/trust/node-signer.ts): what it writes is byte for byte what `ssh-keygen -Y sign`
 * writes with the same key (ed25519 is deterministic), and `ssh-keygen -Y verify` accepts it for the node's
 * principal, in the kind's namespace, as trust/allowed_signers lists the node.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gitbus-node-signer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signing with the node key in-process', () => {
  it('a key replaced at its path (a person rotated it) is read again at the next signature, not kept from the first', async () => {
    const home = join(dir, 'rotated');
    const first = await ensureNodeKey(home, 'r');
    expect(loadEd25519Key(first.privatePath).key.blob).toEqual(first.key.blob);
    rmSync(first.privatePath);
    rmSync(`${first.privatePath}.pub`, { force: true });
    const second = await ensureNodeKey(home, 'r');
    expect(second.key.blob).not.toEqual(first.key.blob);
    expect(loadEd25519Key(second.privatePath).key.blob).toEqual(second.key.blob);
  });

  it('writes the same SSHSIG as ssh-keygen -Y sign, and ssh-keygen -Y verify accepts it for node:<name>', async () => {
    const k = await ensureNodeKey(join(dir, 'home'), 'w');
    const key = readEd25519Key(readFileSync(k.privatePath, 'utf8'), k.privatePath);
    const path = 'claims/20261121-042933-k3f9qx.1.md';
    const text = '---\nid: 20261121-042933-k3f9qx\nattempt: 1\nnode: w\nclaimed: 2026-11-21T04:29:33.000Z\n---\n';
    const sidecar = signBusFileInProcess(key, path, text);
    expect(sidecar.path).toBe(`signatures/${path}.sig`);
    const message = Buffer.from(`gitbus claim v1\n${path}\n${text}`);
    const msgFile = join(dir, 'message');
    writeFileSync(msgFile, message);
    execFileSync('ssh-keygen', ['-Y', 'sign', '-q', '-n', 'gitbus-claim@v1', '-f', k.privatePath, msgFile]);
    expect(sidecar.content).toBe(readFileSync(`${msgFile}.sig`, 'utf8'));
    const signers = join(dir, 'allowed_signers');
    writeFileSync(signers, `${nodeSignerLine('w', k.key)}\n`);
    writeFileSync(join(dir, 'mine.sig'), sidecar.content);
    const out = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', 'node:w', '-n', 'gitbus-claim@v1', '-s', join(dir, 'mine.sig')], { input: message, encoding: 'utf8' });
    expect(out).toMatch(/Good "gitbus-claim@v1" signature for node:w/);
    // The node line limits the key to node files: ssh-keygen refuses it for handoffs.
    writeFileSync(join(dir, 'handoff.sig'), signInProcess(key, message, 'gitbus-handoff@v1'));
    expect(() => execFileSync('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', 'node:w', '-n', 'gitbus-handoff@v1', '-s', join(dir, 'handoff.sig')], { input: message, stdio: 'pipe' })).toThrow();
  });

  it('refuses a key it cannot use in-process, naming the file and the fix', () => {
    const enc = join(dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', enc]);
    expect(() => readEd25519Key(readFileSync(enc, 'utf8'), enc)).toThrow(SigningKeyInvalidError);
    expect(() => readEd25519Key(readFileSync(enc, 'utf8'), enc)).toThrow(/passphrase/);
    const rsa = join(dir, 'rsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
    expect(() => readEd25519Key(readFileSync(rsa, 'utf8'), rsa)).toThrow(/ssh-rsa key; a node key is ed25519/);
  });
});
