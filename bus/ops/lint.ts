import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { parseBusFile, parseSettingsFile } from '../../schemas/bus-file.js';
import { LIVE_FOLDERS } from '../../schemas/layout.js';
import { InputError } from '../errors.js';
import { indexTree, type LiveTree } from '../model/index-tree.js';
import type { TreeEntry } from '../store/objects.js';

/** Bus files are at most this big (docs/PROTOCOL.md §2); larger ones are reported without being read. */
const MAX_FILE = 256 * 1024;

export interface LintReport {
  checked: number;
  problems: FileProblem[];
}

/**
 * Lints bus files on disk: one file (its folder name gives its kind), or a checkout of a bus (every live
 * folder and gitbus.yaml). Used by `gitbus lint PATH` and by the pre-commit hook.
 */
export async function lintPath(path: string): Promise<LintReport> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    throw new InputError(`${path} does not exist`, 'give a bus file or the folder of a bus checkout');
  }
  if (st.isDirectory()) return lintCheckout(path);
  const rel = `${basename(dirname(path))}/${basename(path)}`;
  const problems = await lintFile(path, basename(path) === 'gitbus.yaml' ? 'gitbus.yaml' : rel, st.size);
  return { checked: 1, problems };
}

async function lintFile(abs: string, rel: string, size: number): Promise<FileProblem[]> {
  if (size > MAX_FILE) return [{ path: rel, field: '', reason: `file is ${size} bytes; the limit is ${MAX_FILE}`, fix: 'shorten it; put large material in the repository the task works on', severity: 'error' }];
  const content = await readFile(abs);
  if (rel === 'gitbus.yaml') {
    const r = parseSettingsFile(content);
    return r.ok ? [] : r.problems;
  }
  const r = parseBusFile(rel, content);
  return r.ok ? r.warnings : r.problems;
}

async function lintCheckout(root: string): Promise<LintReport> {
  const live: LiveTree = { commit: '', root: [], folders: new Map() };
  const sizes = new Map<string, number>();
  for (const name of ['gitbus.yaml', ...LIVE_FOLDERS]) {
    const st = await lstat(join(root, name)).catch(() => null);
    if (!st) continue;
    live.root.push({ path: name, oid: name, mode: modeOf(st), type: st.isDirectory() ? 'tree' : 'blob' });
    sizes.set(name, st.size);
  }
  if (live.root.length === 0) throw new InputError(`${root} is not a bus checkout (no gitbus.yaml or bus folders)`, 'give the root folder of a clone of the bus, or one bus file');
  for (const folder of LIVE_FOLDERS) {
    if (!live.root.some((e) => e.path === folder && e.type === 'tree')) continue;
    const entries: TreeEntry[] = [];
    for (const d of await readdir(join(root, folder), { withFileTypes: true })) {
      const rel = `${folder}/${d.name}`;
      const st = await lstat(join(root, rel));
      sizes.set(rel, st.size);
      entries.push({ path: d.name, oid: rel, mode: modeOf(st), type: st.isDirectory() ? 'tree' : 'blob' });
    }
    live.folders.set(folder, entries);
  }
  const index = indexTree(live);
  const problems = [...index.problems];
  let checked = 0;
  const files: string[] = [];
  if (index.settings) files.push('gitbus.yaml');
  for (const t of index.tasks.values()) for (const r of [t.handoff, ...t.claims.values(), ...t.releases.values(), t.cancel, t.response]) if (r) files.push(r.path);
  for (const r of index.nodes.values()) files.push(r.path);
  for (const rel of files) {
    checked++;
    problems.push(...(await lintFile(join(root, rel), rel, sizes.get(rel) ?? 0)));
  }
  return { checked, problems };
}

function modeOf(st: { isSymbolicLink(): boolean; isDirectory(): boolean; mode: number }): string {
  if (st.isSymbolicLink()) return '120000';
  if (st.isDirectory()) return '040000';
  return st.mode & 0o111 ? '100755' : '100644';
}
