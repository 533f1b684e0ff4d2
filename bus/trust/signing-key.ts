import { existsSync } from 'node:fs';
import { readFile } from '../node-fs-async.js';
import { homedir } from '../user-home-dir.js';
import { isAbsolute, join, resolve } from 'node:path';
import { homePaths, loadNodeConfig, type NodeConfig } from '../home.js';
import { git } from '../project/git.js';
import { SigningKeyInvalidError, SigningKeyMissingError } from './errors.js';
import { readKeyFile, type KeyFile } from './key-file.js';

/**
 * Which key signs, found as git finds its SSH signing key (gpg.format=ssh): `--key FILE`, else `signingKey` in
 * node.yaml, else git's `user.signingkey` when `gpg.format` is `ssh`. The file is a private key, or a public key
 * whose private half ssh-agent holds — what `ssh-keygen -Y sign -f` accepts.
 */
export interface SigningKey {
  /** The file given to `ssh-keygen -f` (absolute). For a literal key from git config: a temporary .pub file. */
  file: string;
  /** Where it was configured, for messages: `--key`, `node.yaml signingKey`, `git user.signingkey`, `node key`. */
  source: string;
  parsed: KeyFile;
  /** A literal key from git config was written to `file`, which the signer removes afterwards. */
  literal?: string;
}

export interface SigningKeyOptions {
  /** `--key FILE`: wins over everything configured. */
  key?: string;
  /** The bus home, when there is one: its node.yaml may set `signingKey`. */
  home?: string;
  /** The home's node.yaml as the command read it already (BusContext.config): not read again. */
  config?: NodeConfig;
  /** Where git config is read (a checkout of the bus); default: the process's working directory. */
  cwd?: string;
  /** false: not git's user.signingkey (no git process is started); only `--key` and node.yaml count. */
  git?: boolean;
  /** false: the command has no `--key` flag, so an error neither says it looked there nor tells to pass it. */
  keyFlag?: boolean;
}

/** `~/x` and relative paths, as git (interpolate_path) and node.yaml (relative to the home) mean them. */
export function expandKeyPath(path: string, base: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Reads a key file (never prompting) and, for a PEM key, the `.pub` beside it. */
export async function loadSigningKey(file: string, source: string): Promise<SigningKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SigningKeyInvalidError(file, code === 'ENOENT' ? `the file does not exist (from ${source})` : `it cannot be read (${code ?? (err as Error).message})`, `correct ${source}, or pass --key FILE`);
  }
  const pub = existsSync(`${file}.pub`) ? await readFile(`${file}.pub`, 'utf8').catch(() => undefined) : undefined;
  return { file, source, parsed: readKeyFile(text, file, pub) };
}

/**
 * git's gpg.format and user.signingkey, from ONE git process (issue 14: every dispatch asks, and a process start
 * is most of the cost). As `git config --get` gives them: the last value where a key is set more than once, null
 * when unset or empty; `-z` keeps a value with a newline in one piece.
 */
export async function gitSigningConfig(cwd: string): Promise<{ format: string | null; key: string | null }> {
  const r = await git(['config', '-z', '--get-regexp', '^(gpg\\.format|user\\.signingkey)$'], { cwd, okCodes: [1], timeoutMs: 10_000, what: "reading git's gpg.format and user.signingkey", fix: 'check that git works here' }).catch(() => null);
  return r?.code === 0 ? parseSigningConfig(r.stdout) : { format: null, key: null };
}

/** Parses `git config -z --get-regexp` output (entries "name\nvalue\0", or "name\0" for a key without a value). Pure. */
export function parseSigningConfig(out: string): { format: string | null; key: string | null } {
  const found = { format: null as string | null, key: null as string | null };
  for (const entry of out.split('\0')) {
    const nl = entry.indexOf('\n');
    const name = (nl < 0 ? entry : entry.slice(0, nl)).toLowerCase();
    const value = nl < 0 ? '' : entry.slice(nl + 1).trim();
    if (name === 'gpg.format') found.format = value === '' ? null : value;
    else if (name === 'user.signingkey') found.key = value === '' ? null : value;
  }
  return found;
}

/** Finds the signing key; SigningKeyMissingError names every place looked at. */
export async function resolveSigningKey(opts: SigningKeyOptions = {}): Promise<SigningKey> {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.key !== undefined) return loadSigningKey(expandKeyPath(opts.key, process.cwd()), '--key');
  const keyFlag = opts.keyFlag !== false;
  const looked: string[] = keyFlag ? ['--key'] : [];
  if (opts.home !== undefined && (opts.config !== undefined || existsSync(homePaths(opts.home).config))) {
    const config = opts.config ?? (await loadNodeConfig(opts.home));
    if (config.signingKey !== undefined) return loadSigningKey(expandKeyPath(config.signingKey, opts.home), `node.yaml signingKey (${homePaths(opts.home).config})`);
    looked.push(`signingKey in ${homePaths(opts.home).config}`);
  }
  if (opts.git === false) throw new SigningKeyMissingError(looked, keyFlag);
  const { format, key: gitKey } = await gitSigningConfig(cwd);
  if (format === 'ssh' && gitKey !== null) {
    // git: `key::<line>` (or a line starting with `ssh-`) is the key itself; anything else a path.
    const literal = gitKey.startsWith('key::') ? gitKey.slice('key::'.length) : gitKey.startsWith('ssh-') ? gitKey : null;
    if (literal !== null) {
      const parsed = readKeyFile(literal, 'git user.signingkey');
      return { file: '', source: 'git user.signingkey', parsed, literal };
    }
    return loadSigningKey(expandKeyPath(gitKey, cwd), 'git user.signingkey');
  }
  looked.push(format === 'ssh' ? 'git user.signingkey (not set)' : `git user.signingkey (gpg.format is ${format ?? 'not set'}, not ssh)`);
  throw new SigningKeyMissingError(looked, keyFlag);
}

/**
 * For `gitbus trust init` when no signing key is configured: the private half of an admin key the command was given,
 * at the usual place beside its public file (`~/.ssh/id_ed25519` for `~/.ssh/id_ed25519.pub`), when it is that key's.
 * The person named the key as theirs, so signing with it asks nothing more of them; any other key there is not used.
 */
export async function privateHalfBeside(admins: readonly { principal: string; key: { fingerprint: string }; file?: string }[]): Promise<SigningKey | null> {
  for (const a of admins) {
    if (a.file === undefined || !a.file.endsWith('.pub')) continue;
    const file = a.file.slice(0, -'.pub'.length);
    if (!existsSync(file)) continue;
    const found = await loadSigningKey(file, `the private half of --admin ${a.principal}'s key`).catch(() => null);
    if (found && found.parsed.key.fingerprint === a.key.fingerprint && found.parsed.kind !== 'public') return found;
  }
  return null;
}
