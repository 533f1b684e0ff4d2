import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS_PATH } from '../schemas/layout.js';
import { git } from './git.js';

/**
 * Whether a hook runs in a clone of a bus: the top of its work tree has gitbus.yaml. A gitbus hook copied or shared
 * (a global core.hooksPath) into another repository must never lint or push that repository; nor does it on a
 * branch of the bus without gitbus.yaml. Asked with the hook's environment, so that git's GIT_DIR and work tree count.
 */
export async function inBusWorkTree(cwd: string): Promise<boolean> {
  const r = await git(['rev-parse', '--show-toplevel'], { cwd, hookEnv: true });
  const top = r.stdout.toString('utf8').trim();
  return r.code === 0 && top !== '' && existsSync(join(top, SETTINGS_PATH));
}
