import type { FileProblem } from '../../schemas/errors.js';
import { classifyEntry, LIVE_FOLDERS } from '../../schemas/layout.js';
import type { TreeEntry } from '../store/objects.js';
import type { TaskFiles, TreeIndex } from './types.js';

/** The root tree and the live folders of one commit of main, as listed (nothing parsed yet). */
export interface LiveTree {
  commit: string;
  root: TreeEntry[];
  folders: Map<string, TreeEntry[]>;
}

/**
 * Groups live files by task id using their names only. Pure: reading file contents is left to the caller,
 * so that deciding what is claimable needs to parse only the handoffs of candidate tasks.
 */
export function indexTree(live: LiveTree): TreeIndex {
  const tasks = new Map<string, TaskFiles>();
  const nodes = new Map<string, { path: string; oid: string }>();
  const problems: FileProblem[] = [];
  const taskFor = (id: string): TaskFiles => {
    let t = tasks.get(id);
    if (!t) {
      t = { id, claims: new Map(), releases: new Map() };
      tasks.set(id, t);
    }
    return t;
  };
  let settings: { path: string; oid: string } | undefined;
  for (const entry of live.root) {
    if (entry.path === 'gitbus.yaml') {
      if (entry.type === 'blob' && entry.mode !== '120000') settings = { path: 'gitbus.yaml', oid: entry.oid };
      else problems.push({ path: 'gitbus.yaml', field: '', reason: 'gitbus.yaml must be a regular file', fix: 'replace it with a regular file', severity: 'error' });
    } else if ((LIVE_FOLDERS as readonly string[]).includes(entry.path) && entry.type !== 'tree') {
      problems.push({ path: entry.path, field: '', reason: `${entry.path} must be a folder`, fix: `remove the file ${entry.path}`, severity: 'error' });
    }
  }
  for (const folder of LIVE_FOLDERS) {
    for (const entry of live.folders.get(folder) ?? []) {
      const c = classifyEntry(folder, entry.path, entry.mode);
      if (!('kind' in c)) {
        problems.push(c);
        continue;
      }
      const ref = { path: `${folder}/${entry.path}`, oid: entry.oid };
      switch (c.kind) {
        case 'handoff':
          taskFor(c.id).handoff = ref;
          break;
        case 'claim':
          taskFor(c.id).claims.set(c.attempt, ref);
          break;
        case 'release':
          taskFor(c.id).releases.set(c.attempt, ref);
          break;
        case 'cancel':
          taskFor(c.id).cancel = ref;
          break;
        case 'response':
          taskFor(c.id).response = ref;
          break;
        case 'node':
          nodes.set(c.node, ref);
          break;
        case 'settings':
          break;
      }
    }
  }
  for (const t of tasks.values()) {
    if (t.handoff) continue;
    for (const ref of [...t.claims.values(), ...t.releases.values(), t.cancel, t.response]) {
      if (ref) problems.push({ path: ref.path, field: '', reason: `no handoff handoffs/${t.id}.md for this file`, fix: `remove it, or restore handoffs/${t.id}.md`, severity: 'error' });
    }
  }
  for (const [id, t] of tasks) if (!t.handoff) tasks.delete(id);
  const index: TreeIndex = { commit: live.commit, tasks, nodes, problems };
  if (settings) index.settings = settings;
  return index;
}

/** The attempt a task's open claim holds: the highest claimed attempt that was not released. */
export function openAttempt(files: TaskFiles): number | null {
  let max = 0;
  for (const a of files.claims.keys()) if (a > max) max = a;
  if (max === 0 || files.releases.has(max)) return null;
  return max;
}

export function highestAttempt(files: TaskFiles): number {
  let max = 0;
  for (const a of files.claims.keys()) if (a > max) max = a;
  return max;
}
