import { homedir } from '../bus/user-home-dir.js';
import { envUserHome as checkedHome } from '../bus/env/local.js';

/**
 * The home folder environment profiles are applied to (`gitbus env`, `doctor`): $HOME, else the account's (bus/env
 * takes it explicitly); refused (ENV_HOME_MISSING) when it is not an absolute path to a folder that exists, rather
 * than every file reading as missing and every write failing.
 */
export function envUserHome(env: NodeJS.ProcessEnv = process.env): string {
  return checkedHome(env['HOME'], homedir);
}
