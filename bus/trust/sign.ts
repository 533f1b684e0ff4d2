import { childProcess } from '../child-process.js';
import { mkdtemp, rm, writeFile } from '../node-fs-async.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningFailedError, SigningKeyLockedError } from './errors.js';
import { sidecarPathFor, signedMessage, type SignedKind } from './messages.js';
import { checkSshsig } from './sshsig.js';
import { parsePublicKeyLine, sameKey, type SshPublicKey } from './ssh-key.js';
import type { SigningKey } from './signing-key.js';

/**
 * Signing goes through `ssh-keygen -Y sign`, as git's gpg.format=ssh does: it reads key files and talks to
 * ssh-agent. It never prompts: gitbus checks first whether the key needs the agent (a public key, or a private key
 * with a passphrase) and whether the agent holds it, runs ssh-keygen without a terminal and with askpass off, and
 * bounds it in time (an agent may ask its user to confirm).
 */

export const SIGN_TIMEOUT_MS = 30_000;

export interface SignOptions {
  timeoutMs?: number;
  /** The environment ssh-keygen and ssh-add see (SSH_AUTH_SOCK above all); default: this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface Signed {
  /** The armored SSHSIG, as ssh-keygen printed it. */
  armored: string;
  signer: SshPublicKey;
  namespace: string;
}

export interface SignedFile extends Signed {
  kind: SignedKind;
  /** Where the signature goes in the bus: `signatures/<path>.sig` (or `.<tag>.sig` for trust files). */
  sidecar: string;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a program without a terminal (its own session), input on stdin, killed with its group after `timeoutMs`. */
function runTool(bin: string, args: string[], input: Uint8Array, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = childProcess().spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new SigningFailedError(missing ? `${bin} is not installed (or not on PATH)` : `${bin} could not be started: ${e.message}`, missing ? 'install the OpenSSH client (it provides ssh-keygen, ssh-agent and ssh-add; e.g. "apt install openssh-client")' : 'check the OpenSSH client installation', { bin }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(input));
  });
}

/** The environment for OpenSSH tools: never an askpass program, whatever DISPLAY says. */
function toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, SSH_ASKPASS_REQUIRE: 'never', LC_ALL: 'C', LANG: 'C' };
}

/** Whether the ssh-agent at SSH_AUTH_SOCK holds `key`; why not, when it cannot be asked. */
export async function agentHolds(key: SshPublicKey, opts: SignOptions = {}): Promise<{ holds: boolean; why?: string }> {
  const env = opts.env ?? process.env;
  if (!env['SSH_AUTH_SOCK']) return { holds: false, why: 'no ssh-agent is running for this shell (SSH_AUTH_SOCK is not set)' };
  const r = await runTool('ssh-add', ['-L'], new Uint8Array(), toolEnv(env), 10_000);
  if (r.timedOut) return { holds: false, why: 'ssh-agent did not answer within 10s' };
  if (r.code === 2) return { holds: false, why: `the ssh-agent at SSH_AUTH_SOCK cannot be reached (${r.stderr.trim() || 'ssh-add -L failed'})` };
  if (r.code === 1) return { holds: false, why: 'ssh-agent holds no keys' };
  for (const line of r.stdout.split('\n')) {
    try {
      if (line.trim() && sameKey(parsePublicKeyLine(line).key, key)) return { holds: true };
    } catch {
      // A key type gitbus does not verify (a security key, a certificate) cannot be ours: skip it.
    }
  }
  return { holds: false, why: 'ssh-agent does not hold this key' };
}

/** The private key file to `ssh-add`, for the fix of a key the agent lacks. */
function addCommand(key: SigningKey): string {
  if (key.literal !== undefined) return 'ssh-add <the private key of git\'s user.signingkey>';
  return `ssh-add ${key.parsed.kind === 'public' && key.file.endsWith('.pub') ? key.file.slice(0, -'.pub'.length) : key.file}`;
}

/** Refuses, before ssh-keygen could prompt, a key that needs an agent that does not hold it. */
async function checkUsable(key: SigningKey, opts: SignOptions): Promise<void> {
  const p = key.parsed;
  if (p.kind === 'private' && !p.encrypted) return;
  const agent = await agentHolds(p.key, opts);
  if (agent.holds) return;
  const what = p.kind === 'public'
    ? `only the public key is given (${key.source}) and ${agent.why ?? 'ssh-agent does not hold its private half'}`
    : `it is protected by a passphrase and ${agent.why ?? 'ssh-agent does not hold it'}; gitbus never asks for a passphrase`;
  const fix = agent.why?.startsWith('no ssh-agent')
    ? `start an agent and add the key ("eval $(ssh-agent)" then "${addCommand(key)}"), then sign again`
    : `add the key to ssh-agent ("${addCommand(key)}"), then sign again`;
  throw new SigningKeyLockedError(key.literal !== undefined ? 'git user.signingkey' : key.file, what, fix);
}

/** The last meaningful lines of a tool's stderr, on one line. */
function tail(stderr: string): string {
  return stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' / ').slice(0, 500);
}

/**
 * Signs `message` in `namespace` with `ssh-keygen -Y sign` (message on stdin, signature on stdout) and checks the
 * result in-process: it must verify and be by the key that was asked for.
 */
export async function signMessage(message: Uint8Array, namespace: string, key: SigningKey, opts: SignOptions = {}): Promise<Signed> {
  await checkUsable(key, opts);
  const timeoutMs = opts.timeoutMs ?? SIGN_TIMEOUT_MS;
  let tempDir: string | null = null;
  let file = key.file;
  try {
    if (key.literal !== undefined) {
      tempDir = await mkdtemp(join(tmpdir(), 'gitbus-sign-'));
      file = join(tempDir, 'key.pub');
      await writeFile(file, `${key.parsed.key.line}\n`, { mode: 0o600 });
    }
    // The file is absolute (signing-key.ts), so it never reads as an option.
    const r = await runTool('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', file], message, toolEnv(opts.env ?? process.env), timeoutMs);
    if (r.timedOut) {
      throw new SigningFailedError(`ssh-keygen did not finish within ${Math.round(timeoutMs / 1000)}s`, 'if your ssh-agent asks to confirm each use of the key, answer it; otherwise check the agent ("ssh-add -l")', { timeoutMs });
    }
    if (r.code !== 0) {
      const detail = tail(r.stderr) || `exit code ${r.code ?? 'none'}`;
      const passphrase = /passphrase|incorrect/i.test(r.stderr);
      throw new SigningFailedError(`ssh-keygen -Y sign: ${detail}`, passphrase ? `add the key to ssh-agent ("${addCommand(key)}"): gitbus never asks for a passphrase` : 'run the same ssh-keygen -Y sign yourself to see what it needs', { stderr: r.stderr, exitCode: r.code });
    }
    const check = checkSshsig(r.stdout, message, namespace);
    if (!check.ok) throw new SigningFailedError(`ssh-keygen printed a signature that does not verify (${check.error.message.split('\n')[0] ?? ''})`, 'check the OpenSSH installation (ssh-keygen -V)');
    if (!sameKey(check.signer, key.parsed.key)) throw new SigningFailedError(`ssh-keygen signed with ${check.signer.fingerprint}, not the key asked for (${key.parsed.key.fingerprint})`, `check ${key.source}`);
    return { armored: r.stdout, signer: check.signer, namespace };
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

/** Signs the bus file at `path` (repo-relative) with content `bytes`: its message, its namespace, its sidecar path. */
export async function signBusFile(path: string, bytes: Uint8Array, key: SigningKey, opts: SignOptions = {}): Promise<SignedFile> {
  const m = signedMessage(path, bytes);
  const signed = await signMessage(m.message, m.namespace, key, opts);
  return { ...signed, kind: m.kind, sidecar: sidecarPathFor(path, signed.signer) };
}
