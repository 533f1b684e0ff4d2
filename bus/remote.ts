import { isAbsolute, resolve } from 'node:path';
import { InputError } from './errors.js';
import { HttpTransport, isHttpRemote, normalizeHttpRemote } from './transport/https.js';
import { LocalTransport, parseLocalRemote } from './transport/local.js';
import type { Transport } from './transport/transport.js';

/**
 * Turns a remote URL from node settings or the command line into a transport. `home` (the bus home) is where
 * http(s) remotes look for credentials.yaml; GITBUS_TOKEN works without it.
 */
export async function openTransport(url: string, home?: string): Promise<Transport> {
  if (isHttpRemote(url)) return new HttpTransport(url, home === undefined ? {} : { home });
  const local = localPathOf(url);
  if (local) return new LocalTransport(local);
  throw new InputError(`remote "${url}" uses a transport this version does not support`, 'use a local path or file:// URL to a bare repository, or an https:// URL (SSH remotes come with issue #4)', { url });
}

/**
 * The remote as it is stored in node.yaml: the absolute path of a local remote; an http(s) URL without user
 * info (a URL with a password is refused); anything else unchanged.
 */
export function normalizeRemote(url: string): string {
  if (isHttpRemote(url)) return normalizeHttpRemote(url);
  return localPathOf(url) ?? url;
}

/** The absolute path of a local remote (a plain path or file:// URL), or null for other URLs. */
export function localPathOf(url: string): string | null {
  if (url.startsWith('file://')) return parseLocalRemote(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
  // scp-like "host:path" is SSH; a Windows drive letter is not handled here.
  if (/^[^/]*:/.test(url) && !isAbsolute(url)) return null;
  return resolve(url);
}
