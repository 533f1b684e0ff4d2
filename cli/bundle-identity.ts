import { statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { CommandEntry } from './command-table.js';
import { SCHEMAS_FILE } from './schemas-script-id.js';
import { COLD_BUNDLES, coldFile } from './cold-script-id.js';
import { COMMAND_BUNDLES, LOADER_FILE } from './bundle-names.js';

/** The file in dist/cli/ that holds the command's modules (scripts/bundle.mjs builds one per `bundle` of the table). */
export function bundleFile(entry: Pick<CommandEntry, 'bundle'>): string {
  return entry.bundle === undefined ? 'gitbus.cjs' : `gitbus-${entry.bundle}.cjs`;
}

/**
 * Every bundle the build makes, in a fixed order: gitbus.cjs first, then the commands' bundles, their cold scripts, the
 * schemas script (cli/schemas-script.ts) and the loader, whose code cache is keyed by the build as theirs are.
 */
export function bundleFiles(): string[] {
  return ['gitbus.cjs', ...COMMAND_BUNDLES.map((bundle) => bundleFile({ bundle })), ...COLD_BUNDLES.map(coldFile), SCHEMAS_FILE, LOADER_FILE];
}

/**
 * A file's identity: its size, modification and change times (nanoseconds) and inode. Any write to it, a copy or a
 * new install changes the change time, which nobody can set back.
 */
export function fileIdentity(st: BigIntStats): string {
  return `${st.size}-${st.mtimeNs.toString(36)}-${st.ctimeNs.toString(36)}-${st.ino.toString(36)}`;
}

/** A file of the build already open, whose identity is taken from the open file rather than from its path. */
export interface OpenFile {
  path: string;
  st: BigIntStats;
}

/**
 * The identity of each file of the build in `dir` (dist/cli/), in bundleFiles() order: `known`'s from its open file,
 * the others' from their paths. `before`, the same list made earlier in this process (the boot's, cli/boot.ts): only
 * `known`'s entry is made again, so that the loader's identity needs no second look at every file.
 */
export function buildIdentityParts(dir: string, known?: OpenFile, before?: readonly string[]): string[] {
  return bundleFiles().map((name, i) => {
    const file = join(dir, name);
    if (known !== undefined && file === known.path) return fileIdentity(known.st);
    const earlier = before?.[i];
    if (earlier !== undefined) return earlier;
    const st = statSync(file, { bigint: true, throwIfNoEntry: false });
    return st ? fileIdentity(st) : 'none';
  });
}

/** The identity of the build in `dir` (dist/cli/): its bundles' files, `known` the one already open. */
export function buildIdentity(dir: string, known?: OpenFile, before?: readonly string[]): string {
  return buildIdentityParts(dir, known, before).join('+');
}
