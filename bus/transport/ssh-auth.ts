import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from '../user-home-dir.js';
import { join } from 'node:path';
import { ssh2 } from './ssh2-lib.js';
import type { AnyAuthMethod, AuthHandlerMiddleware, ParsedKey } from 'ssh2';

/** Asks a person for a key's passphrase (the CLI on a terminal); undefined when nobody can answer. */
export type PassphrasePrompt = (keyFile: string) => Promise<string | undefined>;

export interface AuthPlan {
  user: string;
  /** The ssh-agent socket, or undefined when there is none (or IdentityAgent none). */
  agent: string | undefined;
  /** Key files in the order to try them (only files that exist). */
  keyFiles: string[];
  /** GITBUS_SSH_PASSPHRASE, tried for every encrypted key before asking. */
  passphrase: string | undefined;
  prompt: PassphrasePrompt | undefined;
}

/** OpenSSH's default identities, in its order, when the config names none. */
const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519_sk', 'id_rsa'];

export function planAuth(args: {
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  identityAgent: string | undefined;
  env: NodeJS.ProcessEnv;
  prompt: PassphrasePrompt | undefined;
}): AuthPlan {
  const agentPath = args.identityAgent === 'none' ? undefined : args.identityAgent === undefined || args.identityAgent === 'SSH_AUTH_SOCK' ? args.env['SSH_AUTH_SOCK'] : args.identityAgent;
  // IdentitiesOnly: only the named files are offered (OpenSSH would still use the agent's copy of them; not
  // reproduced, so with it the agent is skipped altogether).
  const agent = agentPath && existsSync(agentPath) && !(args.identitiesOnly && args.identityFiles.length > 0) ? agentPath : undefined;
  const candidates = args.identityFiles.length > 0 ? args.identityFiles : DEFAULT_KEYS.map((k) => join(homedir(), '.ssh', k));
  const keyFiles = candidates.filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
  return { user: args.user, agent, keyFiles, passphrase: args.env['GITBUS_SSH_PASSPHRASE'] || undefined, prompt: args.prompt };
}

function isKey(k: ParsedKey | Error | ParsedKey[]): k is ParsedKey {
  return !(k instanceof Error) && !Array.isArray(k);
}

/** ssh2's parseKey for one file: the key, or why it cannot be used. */
async function loadKey(file: string, plan: AuthPlan): Promise<{ key: ParsedKey } | { problem: string }> {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    return { problem: `unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const plain = ssh2().utils.parseKey(data) as ParsedKey | Error | ParsedKey[];
  if (isKey(plain)) return { key: plain };
  if (Array.isArray(plain) && plain[0]) return { key: plain[0] };
  const message = plain instanceof Error ? plain.message : 'not a private key';
  if (!/passphrase|encrypted/i.test(message)) return { problem: `not usable (${message})` };
  const tries = [plan.passphrase];
  for (let i = 0; i < tries.length; i++) {
    const pass = tries[i];
    if (pass !== undefined) {
      const k = ssh2().utils.parseKey(data, pass) as ParsedKey | Error | ParsedKey[];
      if (isKey(k)) return { key: k };
      if (Array.isArray(k) && k[0]) return { key: k[0] };
    }
    if (i === tries.length - 1 && plan.prompt) {
      const asked = await plan.prompt(file);
      if (asked !== undefined && tries.length < 4) tries.push(asked);
    }
  }
  return {
    problem:
      plan.passphrase === undefined && !plan.prompt
        ? 'protected by a passphrase and none was given (ssh-add it to your agent, or set GITBUS_SSH_PASSPHRASE)'
        : 'protected by a passphrase, and the passphrase given was wrong',
  };
}

export interface AuthAttempts {
  handler: AuthHandlerMiddleware;
  /** What was offered and how it went, for the error when everything failed. */
  tried: string[];
  /** Methods the server said it accepts (from its last failure reply). */
  serverAccepts: string[];
  /** The last credential offered: after a successful login, the one that was accepted. */
  lastOffered: () => string | undefined;
}

/**
 * An ssh2 authHandler that tries the agent, then each key file, recording each attempt so that a refused login
 * can say exactly what was offered (OpenSSH's `-v` in one line).
 */
export function authAttempts(plan: AuthPlan): AuthAttempts {
  const tried: string[] = [];
  const serverAccepts: string[] = [];
  let last: string | undefined;
  const queue: (() => Promise<AnyAuthMethod | null>)[] = [];
  if (plan.agent) {
    const agent = plan.agent;
    queue.push(async () => {
      tried.push(`ssh-agent ${agent} (refused)`);
      last = `ssh-agent ${agent}`;
      return { type: 'agent', username: plan.user, agent };
    });
  }
  for (const file of plan.keyFiles) {
    queue.push(async () => {
      const loaded = await loadKey(file, plan);
      if ('problem' in loaded) {
        tried.push(`${file} (${loaded.problem})`);
        return null;
      }
      tried.push(`${file} (refused)`);
      last = `key ${file}`;
      return { type: 'publickey', username: plan.user, key: loaded.key };
    });
  }
  const handler: AuthHandlerMiddleware = (methodsLeft, _partial, next) => {
    if (Array.isArray(methodsLeft)) serverAccepts.splice(0, serverAccepts.length, ...methodsLeft);
    void (async () => {
      while (queue.length > 0) {
        if (Array.isArray(methodsLeft) && !methodsLeft.includes('publickey')) break;
        const method = await queue.shift()!();
        if (method) return next(method);
      }
      // ssh2 types `next` without `false`, which is how its docs say to stop.
      (next as unknown as (v: false) => void)(false);
    })().catch(() => (next as unknown as (v: false) => void)(false));
  };
  return { handler, tried, serverAccepts, lastOffered: () => last };
}

/** `~/.ssh` for messages. */
export function sshDir(): string {
  return join(homedir(), '.ssh');
}
