import { childProcess } from '../child-process.js';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm } from '../node-fs-async.js';
import { join } from 'node:path';
import { InvalidIdError, isNodeName, NODE_NAME_RULE } from '../../schemas/ids.js';
import { writeFileAtomic } from '../local-io.js';
import { SigningFailedError } from './errors.js';
import { readKeyFile } from './key-file.js';
import type { SshPublicKey } from './ssh-key.js';
import type { SigningKey } from './signing-key.js';

/**
 * A node's own key (docs/PROTOCOL.md §11): `<home>/keys/node_ed25519`, made at join without a passphrase (a
 * watcher has nobody to type one), readable by the node's user only. It signs the node's claims, releases,
 * responses and card; its public half goes into trust/ so that others can tell the node's writing from a forgery.
 */
export interface NodeKey {
  privatePath: string;
  publicPath: string;
  key: SshPublicKey;
  /** `ssh-ed25519 AAAA... gitbus node <node>`: the line for trust/allowed_signers (after its principal). */
  publicLine: string;
  /** Made by this call (false: it was there). */
  created: boolean;
}

export function nodeKeyPaths(home: string): { dir: string; privatePath: string; publicPath: string } {
  const dir = join(home, 'keys');
  return { dir, privatePath: join(dir, 'node_ed25519'), publicPath: join(dir, 'node_ed25519.pub') };
}

function keygen(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = childProcess().spawn('ssh-keygen', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new SigningFailedError(`ssh-keygen could not be started: ${e.message}`, 'install the OpenSSH client (e.g. "apt install openssh-client")'));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/**
 * Makes the node's key if it is missing and returns it. Safe when two processes of the node race: each makes a key
 * in a folder of its own and links it into place; the one that loses uses the winner's.
 */
export async function ensureNodeKey(home: string, node: string): Promise<NodeKey> {
  if (!isNodeName(node)) throw new InvalidIdError(`${JSON.stringify(node)} is not a node name`, `use ${NODE_NAME_RULE}`, { node });
  const { dir, privatePath, publicPath } = nodeKeyPaths(home);
  const comment = `gitbus node ${node}`;
  let created = false;
  if (!existsSync(privatePath)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = await mkdtemp(join(dir, '.new-'));
    try {
      const file = join(tmp, 'node_ed25519');
      const r = await keygen(['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
      if (r.code !== 0) throw new SigningFailedError(`ssh-keygen -t ed25519 failed: ${r.stderr.trim() || `exit code ${r.code ?? 'none'}`}`, `check that ${dir} is writable`);
      try {
        await link(file, privatePath);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const parsed = readKeyFile(await readFile(privatePath, 'utf8'), privatePath);
  const publicLine = `${parsed.key.line} ${comment}`;
  // The .pub is derived from the private key (whose header carries it), so a crash between the two never leaves them apart.
  const pubNow = existsSync(publicPath) ? (await readFile(publicPath, 'utf8')).trim() : null;
  if (pubNow === null || !pubNow.startsWith(parsed.key.line)) await writeFileAtomic(publicPath, `${publicLine}\n`);
  return { privatePath, publicPath, key: parsed.key, publicLine, created };
}

/** The node's key as a SigningKey, for signing its claims, releases, responses and card. */
export async function nodeSigningKey(home: string, node: string): Promise<SigningKey> {
  const k = await ensureNodeKey(home, node);
  return { file: k.privatePath, source: 'node key', parsed: { kind: 'private', key: k.key, encrypted: false } };
}
