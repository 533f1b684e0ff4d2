import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { objectFile } from '../../bus/git/object-path.js';

/** Every loose object of a clone, by id. */
export function looseObjects(gitdir: string): string[] {
  const objects = join(gitdir, 'objects');
  return readdirSync(objects)
    .filter((f) => /^[0-9a-f]{2}$/.test(f))
    .flatMap((f) => readdirSync(join(objects, f)).filter((n) => /^[0-9a-f]{38}$/.test(n)).map((n) => f + n));
}

/** Makes every loose object of the clone look `ms` old (default two hours), as a clone a node has used for a while. */
export function ageClone(gitdir: string, ms = 2 * 3600_000): void {
  const when = (Date.now() - ms) / 1000;
  for (const oid of looseObjects(gitdir)) utimesSync(objectFile(gitdir, oid), when, when);
}
