import { statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, type CommandEntry } from './command-table.js';
import { SCHEMAS_FILE } from './schemas-script-id.js';
import { COLD_BUNDLES, coldFile } from './cold-script-id.js';

/** The file in dist/cli/ that holds the command's modules (scripts/bundle.mjs builds one per `bundle` of the table). */
export function bundleFile(entry: Pick<CommandEntry, 'bundle'>): string {
  return entry.bundle === undefined ? 'gitbus.cjs' : `gitbus-${entry.bundle}.cjs`;
}

/**
 * Every bundle the build makes, in a fixed order: gitbus.cjs first, then the commands' bundles, their cold scripts and
 * the schemas script (cli/schemas-script.ts).
 */
export function bundleFiles(): string[] {
  return [...new Set(['gitbus.cjs', ...COMMANDS.map(bundleFile), ...COLD_BUNDLES.map(coldFile), SCHEMAS_FILE])];
}

/**
 * A file's identity: its size, modification and change times (nanoseconds) and inode. Any write to it, a copy or a
 * new install changes the change time, which nobody can set back.
 */
export function fileIdentity(st: BigIntStats): string {
  return `${st.size}-${st.mtimeNs.toString(36)}-${st.ctimeNs.toString(36)}-${st.ino.toString(36)}`;
}

/** The identity of the build in `dir` (dist/cli/): its bundles' files, `known` the one already open. */
export function buildIdentity(dir: string, known?: { path: string; st: BigIntStats }): string {
  return bundleFiles()
    .map((name) => {
      const file = join(dir, name);
      const st = known !== undefined && file === known.path ? known.st : statSync(file, { bigint: true, throwIfNoEntry: false });
      return st ? fileIdentity(st) : 'none';
    })
    .join('+');
}
