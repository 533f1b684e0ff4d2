import { readFile, stat } from '../node-fs-async.js';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from '../../schemas/zod.js';
import { CredentialsFileError } from './errors.js';

/**
 * Tokens for http(s) remotes. They come from the environment (`GITBUS_TOKEN`, any host) or from
 * `<home>/credentials.yaml` (a list of `{host, username?, token}`), never from node.yaml or the URL, so they
 * are not written into the repository, the node card or a log.
 */
export interface Credential {
  username: string;
  token: string;
  /** Where it came from, for messages (never the token itself). */
  source: string;
}

/** GitHub and Gitea accept any token as the password of this user name. */
export const DEFAULT_USERNAME = 'x-access-token';

export function credentialsFilePath(home: string): string {
  return join(home, 'credentials.yaml');
}

// Built on first use: zod loads with the schemas script (cli/schemas-script.ts), which a command that reads no
// credentials file never needs.
const credentialsSchema = () =>
  z.array(
    z.strictObject({
      host: z.string().check(z.minLength(1)),
      username: z.optional(z.string().check(z.minLength(1))),
      token: z.string().check(z.minLength(1)),
    }),
  );
let fileSchema: ReturnType<typeof credentialsSchema> | undefined;

/** `host` as written in the file matches the URL's host with port (`git.example.com:8443`) or without. */
function hostMatches(entry: string, url: URL): boolean {
  const e = entry.trim().toLowerCase();
  return e === url.host.toLowerCase() || e === url.hostname.toLowerCase();
}

/** The credential to send to `url`'s host, or undefined. Throws CredentialsFileError for an unsafe or bad file. */
export async function resolveCredential(url: URL, home: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  const envToken = env['GITBUS_TOKEN'];
  if (envToken !== undefined && envToken.length > 0) {
    const envUser = env['GITBUS_USERNAME'];
    return { username: envUser && envUser.length > 0 ? envUser : DEFAULT_USERNAME, token: envToken, source: 'GITBUS_TOKEN' };
  }
  if (home === undefined) return undefined;
  const path = credentialsFilePath(home);
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
  // Like ssh with private keys: a token others can read is refused, not silently used.
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new CredentialsFileError(path, `it is readable or writable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`, `run \`chmod 600 ${path}\``);
  }
  let data: unknown;
  try {
    data = parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CredentialsFileError(path, `it is not valid YAML (${(err as Error).message.split('\n')[0] ?? ''})`, 'write it as a YAML list: `- {host: git.example.com, token: <token>}`');
  }
  if (data === null || data === undefined) return undefined;
  const parsed = (fileSchema ??= credentialsSchema()).safeParse(data);
  if (!parsed.success) {
    // The zod message could quote a token; say only where the problem is.
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(top)').join(', ');
    throw new CredentialsFileError(path, `it is not a list of {host, username?, token} (problem at ${where})`, 'write it as a YAML list: `- {host: git.example.com, username: optional, token: <token>}`');
  }
  const entry = parsed.data.find((e) => hostMatches(e.host, url));
  if (!entry) return undefined;
  return { username: entry.username ?? DEFAULT_USERNAME, token: entry.token, source: path };
}
