import { homedir as osHomedir } from 'node:os';
import { NoUserHomeError } from './errors.js';

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
