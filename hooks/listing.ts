import type { ListedFile } from '../bus/ops/lint.js';
import { LIVE_FOLDERS, SETTINGS_PATH } from '../schemas/layout.js';
import { ENV_FOLDER, SIGNATURES_FOLDER, TRUST_FOLDER } from '../schemas/signature-layout.js';
import { gitOut, objectSizes, splitZ, type GitOptions } from './git.js';

/** Pathspecs of everything gitbus reads in `main`: literal, so that no name is taken as a pattern. */
export const BUS_PATHSPECS = [SETTINGS_PATH, ...LIVE_FOLDERS, SIGNATURES_FOLDER, TRUST_FOLDER, ENV_FOLDER].map((p) => `:(literal)${p}`);

/** The bus files of the index being committed (`git ls-files --stage`). */
export async function stagedFiles(opts: GitOptions): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  for (const record of splitZ(await gitOut(['ls-files', '--stage', '-z', '--', ...BUS_PATHSPECS], opts))) {
    // <mode> SP <oid> SP <stage> TAB <path>
    const m = /^(\d+) ([0-9a-f]+) \d\t([\s\S]+)$/.exec(record);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) files.push({ mode: m[1], oid: m[2], path: m[3] });
  }
  return files;
}

/** The files of a commit under `pathspecs` (`git ls-tree -r`): the bus files unless told otherwise. */
export async function committedFiles(rev: string, opts: GitOptions, pathspecs: readonly string[] = BUS_PATHSPECS): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  for (const record of splitZ(await gitOut(['ls-tree', '-r', '-z', '--full-tree', rev, '--', ...pathspecs], opts))) {
    // <mode> SP <type> SP <oid> TAB <path>
    const m = /^(\d+) \w+ ([0-9a-f]+)\t([\s\S]+)$/.exec(record);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) files.push({ mode: m[1], oid: m[2], path: m[3] });
  }
  return files;
}

/** Sets the size of the files at `paths`, so that lint reports a file larger than a bus file may be without reading it. */
export async function addSizes(files: ListedFile[], paths: ReadonlySet<string>, opts: GitOptions): Promise<void> {
  const sizes = await objectSizes([...new Set(files.filter((f) => paths.has(f.path) && f.mode !== '160000').map((f) => f.oid))], opts);
  for (const f of files) {
    const size = sizes.get(f.oid);
    if (size !== undefined) f.size = size;
  }
}
