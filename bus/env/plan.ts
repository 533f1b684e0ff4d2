import type { EnvState } from '../../schemas/env-drift.js';
import { sha256Hex, keysHash } from './hash.js';
import { mergeJson, parseJsonObject, renderJson, type JsonObject } from './json-merge.js';
import { linkOnPath, readLocal, type LocalFile } from './local.js';
import type { EnvProfile } from './profile.js';
import { resolveProfile, type NodeFacts, type Skipped } from './resolve.js';
import { decide, fileState, type EnvAction } from './states.js';
import { laterUpdated, type EnvStateFile, type SyncedFile } from './state-store.js';
import { decodeUtf8 } from '../../schemas/utf8.js';

/**
 * Each file of a profile on this node: its state (states.ts) from the bus's content, the node's file and the
 * node's state.json, and what apply would do with it. Reads the home; writes nothing.
 */

export interface FileStatus {
  target: string;
  rel: string;
  state: EnvState;
  action: EnvAction;
  /** Why apply leaves it although it is not in sync. */
  held?: string;
  merge: 'replace' | 'json';
  /** Its path under the profile's files/; null for a file the bus no longer has (a removal). */
  source: string | null;
}

/** A file's status and what apply needs to act on it. */
export interface Planned extends FileStatus {
  local: LocalFile;
  /** What apply writes (the profile's file, or the node's JSON with the profile's keys set); null for a removal. */
  content: Uint8Array | null;
  executable: boolean;
  /** What state.json says now, and after apply (or after finding it in sync); null: nothing, or forget the file. */
  last: SyncedFile | null;
  next: SyncedFile | null;
  /** Its entry is a file entry naming no node: this node may keep its own copy (--variant node). */
  perNode: boolean;
}

export interface ProfilePlan {
  profile: string;
  /** What state.json keeps as `updated` once applied: the later of its own and the manifest's. */
  updated?: string;
  files: Planned[];
  /** Targets refused on this node (never synced, entries of one precedence, a profile's JSON that does not parse). */
  skipped: Skipped[];
  /** Targets whose entries are all for other nodes or systems. */
  notHere: Skipped[];
}

/** What never equals a content hash: a file that is not there as a regular file, or JSON that does not parse. */
const UNREADABLE = 'unreadable';

export function planProfile(profile: EnvProfile, userHome: string, state: EnvStateFile, facts: NodeFacts, opts: { force?: boolean; now?: Date } = {}): ProfilePlan {
  const at = (opts.now ?? new Date()).toISOString();
  const force = Boolean(opts.force);
  const resolved = resolveProfile(profile.manifest, facts);
  const skipped = [...resolved.skipped];
  const files: Planned[] = [];
  for (const item of resolved.items) {
    const busBytes = profile.contents.get(item.source);
    if (!busBytes) continue;
    const local = readLocal(userHome, item.rel);
    const last = state.files[item.target];
    const blocked = blockedWhy(userHome, item.rel, local);
    let bus: string;
    let localHash: string | null;
    let localAtLast: string | null;
    let content: Uint8Array;
    let next: SyncedFile;
    /** Why the node's own file merged by keys cannot be read as JSON: it cannot be merged, only replaced whole. */
    let badJson: string | undefined;
    if (item.merge === 'json') {
      const profileJson = parseJsonObject(decodeUtf8(busBytes));
      if (!profileJson.ok) {
        skipped.push({ target: item.target, reason: `the profile's file is ${profileJson.reason}` });
        continue;
      }
      const keys = Object.keys(profileJson.value);
      bus = keysHash(profileJson.value, keys);
      let localObj: JsonObject | null = null;
      if (local.kind === 'file') {
        const r = parseJsonObject(decodeUtf8(local.bytes));
        if (r.ok) localObj = r.value;
        else badJson = r.reason;
      }
      localHash = local.kind === 'missing' ? null : localObj ? keysHash(localObj, keys) : UNREADABLE;
      localAtLast = local.kind === 'missing' ? null : localObj ? keysHash(localObj, last?.keys ?? keys) : UNREADABLE;
      content = Buffer.from(renderJson(mergeJson(localObj ?? {}, profileJson.value)), 'utf8');
      next = { hash: bus, keys, at };
    } else {
      bus = item.file.sha256;
      localHash = local.kind === 'missing' ? null : local.kind === 'file' ? sha256Hex(local.bytes) : UNREADABLE;
      localAtLast = localHash;
      content = busBytes;
      next = { hash: bus, executable: Boolean(item.file.executable), at };
    }
    const st = fileState({ bus, local: localHash, localAtLast, last: last?.hash });
    // A file entry that names no node may be kept as this node's own (--variant node), the way out for a file that
    // differs on each machine by nature.
    const entry = profile.manifest.entries[item.entry];
    const perNode = entry && (entry.kind ?? 'file') === 'file' && entry.nodes === undefined ? item.target : undefined;
    const d = decide(st, { profile: profile.name, force, ...(blocked !== undefined ? { blocked } : {}), ...(perNode !== undefined ? { perNode } : {}) });
    if (badJson !== undefined && blocked === undefined && d.held !== undefined) {
      d.held = `your file is ${badJson}, so the profile's keys cannot be merged into it: fix it, or "gitbus env apply ${profile.name} --force" replaces the whole file with the profile's keys only (a backup is kept)`;
    }
    // The profile keeps one mode bit per file, executable or not (PROTOCOL.md §13), and the content's hash does not
    // hold it: a script made executable after it was synced is in sync by content, and only its mode is set; unless
    // the bit was flipped here since the last sync (state.json's), which is held like a change here.
    const executable = Boolean(item.file.executable);
    const localExec = local.kind === 'file' && (local.mode & 0o111) !== 0;
    const bitChangedHere = item.merge !== 'json' && local.kind === 'file' && !local.link && last?.executable !== undefined && last.executable !== localExec;
    if (st === 'in-sync' && item.merge !== 'json' && local.kind === 'file' && !local.link && localExec !== executable) {
      if (force || !bitChangedHere) d.action = 'mode';
      else d.held = `its executable bit was changed here since the last sync: capture it ("gitbus env capture ${profile.name}"), or set it as the profile has it with "gitbus env apply ${profile.name} --force"`;
    } else if (d.action === 'write' && st === 'changed-in-bus' && bitChangedHere && localExec !== executable && !force) {
      // New content from the bus, and the bit flipped here: writing would undo the change here as a local edit
      // would be undone, so it is held as one.
      d.action = 'none';
      d.held = `its content changed in the bus and its executable bit here: "gitbus env apply ${profile.name} --force" takes the profile's file, bit included; then set the bit again and "gitbus env capture ${profile.name}" if the bus should have it`;
    }
    // In sync or written, the node knows the file as the bus has it (an unchanged record keeps its time); a file
    // left as it is keeps what the node knew of it.
    const asKnown = (a: SyncedFile, b: SyncedFile) => a.hash === b.hash && sameKeys(a, b) && a.executable === b.executable;
    const known = (st === 'in-sync' && d.held === undefined) || d.action === 'write' ? (last && asKnown(last, next) ? last : next) : (last ?? null);
    files.push({
      target: item.target,
      rel: item.rel,
      state: st,
      action: d.action,
      ...(d.held !== undefined ? { held: d.held } : {}),
      merge: item.merge,
      source: item.source,
      local,
      content,
      executable,
      last: last ?? null,
      next: known,
      perNode: perNode !== undefined,
    });
  }
  files.push(...removals(profile.name, state, resolved.dirs, new Set(files.map((f) => f.target).concat(skipped.map((s) => s.target))), userHome, force));
  const updated = laterUpdated(state.updated, profile.manifest.updated);
  return { profile: profile.name, ...(updated !== undefined ? { updated } : {}), files, skipped, notHere: resolved.notHere };
}

/** Why apply may not write or remove the file at `rel` whatever its state (a link, a folder, a link on its path), or undefined. */
function blockedWhy(userHome: string, rel: string, local: LocalFile): string | undefined {
  const onPath = linkOnPath(userHome, rel);
  if (onPath !== undefined) return onPath.endsWith('symbolic link') ? `${onPath}; gitbus never writes through links (replace the link with a folder, or leave the file out)` : `${onPath}, so apply leaves it`;
  if (local.kind === 'other') return `it is ${local.why} here, so apply leaves it`;
  if (local.kind === 'file' && local.link) return 'it is a symbolic link here; gitbus never writes through or over links (change the file it points to, or replace the link with a file)';
  return undefined;
}

function sameKeys(a: SyncedFile, b: SyncedFile): boolean {
  return JSON.stringify(a.keys ?? null) === JSON.stringify(b.keys ?? null);
}

/**
 * Files this node got from a folder entry that the bus no longer has: removed by apply (with a backup) when they
 * are as the node wrote them, like rsync --delete in seed 000's script. Other files the profile stopped naming are
 * only forgotten (no longer managed), never removed: a file the profile stops managing stays as it is.
 */
function removals(profile: string, state: EnvStateFile, dirs: readonly string[], present: ReadonlySet<string>, userHome: string, force: boolean): Planned[] {
  const out: Planned[] = [];
  for (const [target, last] of Object.entries(state.files)) {
    if (present.has(target)) continue;
    const rel = target.slice(2);
    const local = readLocal(userHome, rel);
    const underDir = last.keys === undefined && dirs.some((d) => target.startsWith(`${d}/`));
    if (!underDir || local.kind === 'missing') {
      out.push({ target, rel, state: 'in-sync', action: 'none', merge: last.keys ? 'json' : 'replace', source: null, local, content: null, executable: false, last, next: null, perNode: false });
      continue;
    }
    const hash = local.kind === 'file' && !local.link ? sha256Hex(local.bytes) : UNREADABLE;
    const st: EnvState = hash === last.hash ? 'changed-in-bus' : 'conflict';
    const blocked = blockedWhy(userHome, rel, local);
    const d = decide(st, { profile, force, removal: true, ...(blocked !== undefined ? { blocked } : {}) });
    out.push({ target, rel, state: st, action: d.action, ...(d.held !== undefined ? { held: d.held.replace('changed here and in the bus', 'removed from the profile but changed here') } : {}), merge: 'replace', source: null, local, content: null, executable: false, last, next: d.action === 'remove' ? null : last, perNode: false });
  }
  return out;
}

/** The files a person is shown: forgotten ones (no longer managed, nothing to do) left out. */
export function shownFiles(plan: ProfilePlan): FileStatus[] {
  return plan.files
    .filter((f) => !(f.source === null && f.action === 'none' && f.state === 'in-sync'))
    .map(({ target, rel, state, action, held, merge, source }) => ({ target, rel, state, action, ...(held !== undefined ? { held } : {}), merge, source }));
}
