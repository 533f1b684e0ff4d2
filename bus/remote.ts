import { isAbsolute, resolve } from 'node:path';
import { InputError } from './errors.js';
import { LocalTransport, parseLocalRemote } from './transport/local.js';
import type { Transport } from './transport/transport.js';

/** Turns a remote URL from node settings or the command line into a transport. */
export async function openTransport(url: string): Promise<Transport> {
  const local = localPathOf(url);
  if (local) return new LocalTransport(local);
  throw new InputError(`remote "${url}" uses a transport this version does not support`, 'use a local path or file:// URL to a bare repository (SSH and HTTPS remotes come with issue #4)', { url });
}

/** The absolute path of a local remote (a plain path or file:// URL), or null for other URLs. */
export function localPathOf(url: string): string | null {
  if (url.startsWith('file://')) return parseLocalRemote(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
  // scp-like "host:path" is SSH; a Windows drive letter is not handled here.
  if (/^[^/]*:/.test(url) && !isAbsolute(url)) return null;
  return resolve(url);
}
