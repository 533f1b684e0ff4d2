import { sep } from 'node:path';

/**
 * `<gitdir>/objects/xx` and `<gitdir>/objects/xx/yyyy...`, the folder and file of a loose object, made by joining
 * strings: `gitdir` is a path made once (by join or resolve) and an id is hex, so path.join's pass over every
 * character adds nothing here, and it ran for every object a command reads or writes. A dispatch made ~150 joins,
 * enough for V8 to optimise Node's normalizeString on a compiler thread (~10 ms of CPU in a ~120 ms process; issue
 * 14, docs/PERFORMANCE.md "A dispatch without zod or yaml").
 */
export function objectDir(gitdir: string, oid: string): string {
  return `${gitdir}${sep}objects${sep}${oid.slice(0, 2)}`;
}

export function objectFile(gitdir: string, oid: string): string {
  return `${objectDir(gitdir, oid)}${sep}${oid.slice(2)}`;
}

/** `name` (no separator in it) in the folder `dir`, a path made once. */
export function inFolder(dir: string, name: string): string {
  return `${dir}${sep}${name}`;
}
