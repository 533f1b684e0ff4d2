import { nodeOs, osHomedir } from '../schemas/node-os.js';
import { NoUserHomeError, NoUserNameError } from './errors.js';

/**
 * The user's home folder, as os.homedir(): $HOME, else the passwd entry. A uid with neither (a container's
 * `--user 12345`, `setpriv --reuid`) makes os.homedir() throw a bare uv_os_homedir SystemError; this says what to do.
 */
export function homedir(): string {
  try {
    return osHomedir();
  } catch (err) {
    throw new NoUserHomeError(err);
  }
}

/**
 * The user's name, as os.userInfo(): the passwd entry, else $USER or $LOGNAME (what git falls back to for its
 * ident). A uid with none of them gets NO_USER_NAME rather than a bare uv_os_get_passwd SystemError.
 */
export function userName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return nodeOs().userInfo().username;
  } catch (err) {
    const named = env['USER'] || env['LOGNAME'];
    if (named) return named;
    throw new NoUserNameError(err);
  }
}
