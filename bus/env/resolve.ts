import type { EnvEntry, EnvFile, EnvManifest } from '../../schemas/env-manifest.js';
import { ENV_MAX_DEPTH, neverSynced, osMatches, secretName, targetRel } from '../../schemas/env-paths.js';

/**
 * Which of a profile's files go where on one node, pure: for each target the most specific entry that applies
 * (one naming the node, then one naming its system, then one without a filter), a folder entry expanded into its
 * files, and whatever is never synced left out with the reason.
 */

/** One file a profile puts on this node. */
export interface EnvItem {
  /** `~/…` of the file. */
  target: string;
  /** The same, relative to the home. */
  rel: string;
  /** Its path under the profile's files/. */
  source: string;
  merge: 'replace' | 'json';
  /** The entry's `keys` (json only). */
  keys?: string[];
  file: EnvFile;
  /** The entry it comes from, its index in the manifest. */
  entry: number;
}

export interface Skipped {
  target: string;
  reason: string;
}

export interface ResolvedProfile {
  items: EnvItem[];
  /** Targets of the folder entries that apply here (files a folder lost in the bus are removed under them). */
  dirs: string[];
  skipped: Skipped[];
  /** Targets whose every entry names other nodes or systems: nothing of them goes on this node. */
  notHere: Skipped[];
}

export interface NodeFacts {
  node: string;
  /** `process.platform`. */
  platform: string;
  /** Where gitbus's bus home in use is under the user's home (bus/env/local.ts ownHome): never written. */
  busHome?: readonly string[];
}

/** How specific an entry is for a node it applies to: a node name beats a system, a system beats nothing. */
function specificity(e: EnvEntry, facts: NodeFacts): number | undefined {
  if (e.nodes && !e.nodes.includes(facts.node)) return undefined;
  if (e.os && !osMatches(e.os, facts.platform)) return undefined;
  return (e.nodes ? 2 : 0) + (e.os ? 1 : 0);
}

/** What an entry's filters name: "nodes b, c", "os darwin", "nodes b and os linux". */
function filterText(e: EnvEntry): string {
  return [e.nodes ? `nodes ${e.nodes.join(', ')}` : '', e.os ? `os ${e.os.join(', ')}` : ''].filter((t) => t !== '').join(' and ');
}

/**
 * The entry that applies to this node for each target, or why none can be chosen; and the targets none of whose
 * entries is for this node (`notHere`), with what they are for.
 */
export function chooseEntries(m: EnvManifest, facts: NodeFacts): { chosen: { entry: EnvEntry; index: number }[]; skipped: Skipped[]; notHere: Skipped[] } {
  const best = new Map<string, { entry: EnvEntry; index: number; score: number; tie: boolean }>();
  const elsewhere = new Map<string, string[]>();
  for (const [index, entry] of m.entries.entries()) {
    const score = specificity(entry, facts);
    if (score === undefined) {
      elsewhere.set(entry.target, [...(elsewhere.get(entry.target) ?? []), filterText(entry)]);
      continue;
    }
    const now = best.get(entry.target);
    if (!now || score > now.score) best.set(entry.target, { entry, index, score, tie: false });
    else if (score === now.score) now.tie = true;
  }
  const chosen: { entry: EnvEntry; index: number }[] = [];
  const skipped: Skipped[] = [];
  for (const [target, b] of best) {
    if (b.tie) skipped.push({ target, reason: `several entries apply to node ${facts.node} (${facts.platform}) with the same precedence; name the node in one of them` });
    else chosen.push({ entry: b.entry, index: b.index });
  }
  const notHere: Skipped[] = [];
  for (const [target, filters] of elsewhere) {
    if (!best.has(target)) notHere.push({ target, reason: `its ${filters.length === 1 ? 'entry is' : 'entries are'} for ${filters.join('; ')}, not node ${facts.node} (${facts.platform})` });
  }
  return { chosen, skipped, notHere };
}

/** Files merged by keys unless an entry says otherwise: Claude Code's settings, whose other keys each machine keeps. */
export const JSON_MERGED: ReadonlySet<string> = new Set(['.claude/settings.json']);

/**
 * How one file of an entry is written: as the entry says, and in a folder entry (~/.claude captured whole) Claude
 * Code's settings.json merged by keys as a file entry of it would be: written whole it would take away each node's
 * own keys and put one machine's plugin folders on all. Its keys are the profile's file's (a folder entry has no
 * `keys`).
 */
export function fileMerge(entry: EnvEntry, rel: string): 'replace' | 'json' {
  if (entry.merge !== undefined) return entry.merge;
  return (entry.kind ?? 'file') === 'dir' && JSON_MERGED.has(rel) ? 'json' : 'replace';
}

/** Why a file at `rel` (home-relative) is never written by a profile, or undefined; `busHome` as neverSynced takes it. */
export function neverWritten(rel: string, busHome: readonly string[]): string | undefined {
  const never = neverSynced(rel, busHome);
  if (never !== undefined) return `never synced: ${never}`;
  const secret = secretName(rel.slice(rel.lastIndexOf('/') + 1));
  if (secret !== undefined) return `never synced: it looks like a secret (${secret})`;
  if (rel.split('/').length > ENV_MAX_DEPTH + 1) return `more than ${ENV_MAX_DEPTH} folders deep`;
  return undefined;
}

export function resolveProfile(m: EnvManifest, facts: NodeFacts): ResolvedProfile {
  const { chosen, skipped, notHere } = chooseEntries(m, facts);
  const items: EnvItem[] = [];
  const dirs: string[] = [];
  const add = (target: string, source: string, entry: EnvEntry, index: number, file: EnvFile) => {
    const rel = targetRel(target);
    const why = neverWritten(rel, facts.busHome ?? []);
    if (why !== undefined) {
      skipped.push({ target, reason: why });
      return;
    }
    const merge = fileMerge(entry, rel);
    items.push({ target, rel, source, merge, ...(merge === 'json' && entry.keys ? { keys: entry.keys } : {}), file, entry: index });
  };
  for (const { entry, index } of chosen) {
    if ((entry.kind ?? 'file') === 'file') {
      const file = Object.hasOwn(m.files, entry.source) ? m.files[entry.source] : undefined;
      if (file) add(entry.target, entry.source, entry, index, file);
      continue;
    }
    dirs.push(entry.target);
    const prefix = `${entry.source}/`;
    for (const [source, file] of Object.entries(m.files)) {
      if (source.startsWith(prefix)) add(`${entry.target}/${source.slice(prefix.length)}`, source, entry, index, file);
    }
  }
  items.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  return { items, dirs, skipped, notHere };
}
