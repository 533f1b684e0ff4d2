import { lstatSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/** du's count of a folder: the blocks of every file and folder under it, in KiB. */
export function diskKiB(path: string): number {
  const st = lstatSync(path);
  let kib = (st.blocks * 512) / 1024;
  if (st.isDirectory()) for (const name of readdirSync(path)) kib += diskKiB(join(path, name));
  return kib;
}

/** Every loose object of a repository, and the files `also` names in it, made `ms` old: as a housekeeping run later finds them. */
export function age(gitdir: string, ms: number, also: string[] = []): void {
  const when = (Date.now() - ms) / 1000;
  const objects = join(gitdir, 'objects');
  for (const fan of readdirSync(objects).filter((f) => /^[0-9a-f]{2}$/.test(f))) for (const o of readdirSync(join(objects, fan))) utimesSync(join(objects, fan, o), when, when);
  for (const file of also) utimesSync(join(gitdir, file), when, when);
}
