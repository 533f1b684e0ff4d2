import { homedir } from '../bus/user-home-dir.js';
import { resolve } from 'node:path';

/** The home folder environment profiles are applied to: $HOME, else the account's (bus/env takes it explicitly). */
export function userHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env['HOME'];
  return resolve(home !== undefined && home !== '' ? home : homedir());
}
