import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SETTINGS_PATH } from '../../schemas/layout.js';
import { InputError } from '../errors.js';

/** The top of the bus checkout holding `file`: the nearest folder above it with gitbus.yaml. */
export function checkoutRootOf(file: string): string {
  let dir = dirname(resolve(file));
  for (;;) {
    if (existsSync(join(dir, SETTINGS_PATH))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new InputError(`${file} is not inside a checkout of a bus (no ${SETTINGS_PATH} in any folder above it)`, 'sign a file in your clone of the bus (git clone -b main URL), e.g. gitbus sign handoffs/<id>.md');
    }
    dir = up;
  }
}
