import { isAbsolute, resolve } from 'node:path';
import { InputError } from './errors.js';
import { hasUrlScheme } from '../schemas/text-scan.js';
import { HttpTransport, isHttpRemote, normalizeHttpRemote } from './transport/https.js';
import { LocalTransport, parseLocalRemote } from './transport/local.js';
import { isSshRemote, parseSshRemote } from './transport/ssh-url.js';
import type { Transport } from './transport/transport.js';

/**
 * Turns a remote URL from node settings or the command line into a transport. `home` (the bus home) is where
 * http(s) remotes look for credentials.yaml; GITBUS_TOKEN works without it. SSH remotes use ~/.ssh/config,
 * known_hosts, ssh-agent and key files like OpenSSH does.
 */
export async function openTransport(url: string, home?: string): Promise<Transport> {
  if (isHttpRemote(url)) return new HttpTransport(url, home === undefined ? {} : { home });
  const local = localPathOf(url);
  if (local) return new LocalTransport(local);
  if (isSshRemote(url)) {
    // The SSH transport (its config, known_hosts and connection code, and then ssh2) loads only for an SSH remote.
    const { SshTransport } = await import('./transport/ssh.js');
    const prompt = sshPrompt?.();
    return new SshTransport(url, prompt ? { prompt } : {});
  }
  throw new InputError(`remote "${url}" uses a transport gitbus does not support`, 'use a local path or file:// URL to a bare repository, an ssh:// URL or host:path, or an https:// URL', { url });
}

type Prompt = (keyFile: string) => Promise<string | undefined>;
let sshPrompt: (() => Prompt | undefined) | undefined;

/**
 * Lets the CLI ask for an SSH key's passphrase on its terminal (bus/ never talks to a person itself). `prompt` is
 * asked for one when an SSH remote is opened, not before: whether there is a terminal is seen from process.stdin,
 * whose stream costs a command ~18 M instructions to make (docs/PERFORMANCE.md "Node's own modules (issue 14, session 10)").
 */
export function setSshPassphrasePrompt(prompt: () => Prompt | undefined): void {
  sshPrompt = prompt;
}

/**
 * The remote as it is stored in node.yaml: the absolute path of a local remote; an http(s) URL without user
 * info (a URL with a password is refused); an SSH remote without a trailing slash.
 */
export function normalizeRemote(url: string): string {
  if (isHttpRemote(url)) return normalizeHttpRemote(url);
  const local = localPathOf(url);
  if (local) return local;
  if (isSshRemote(url)) return parseSshRemote(url).display;
  return url;
}

/** The absolute path of a local remote (a plain path or file:// URL), or null for other URLs. */
export function localPathOf(url: string): string | null {
  if (url.startsWith('file://')) return parseLocalRemote(url);
  if (hasUrlScheme(url)) return null;
  // scp-like "host:path" is SSH; a Windows drive letter is not handled here.
  if (isSshRemote(url) && !isAbsolute(url)) return null;
  return resolve(url);
}
