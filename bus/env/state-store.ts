import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { whyNotTarget } from '../../schemas/env-paths.js';
import { writeFileAtomicSync } from '../local-io.js';
import { instantMs } from '../../schemas/timestamp.js';

/**
 * What this node last wrote or read for each file of a profile (`<home>/env/<profile>/state.json`): the S of the
 * four states (states.ts). Lost or damaged, every differing file reads as a conflict, which apply never
 * overwrites without --force: the safe side.
 */

export interface SyncedFile {
  /** The hash as states.ts compares it: of the file, or of its managed keys for a file merged by keys. */
  hash: string;
  /** The keys the hash covers (merge: json only). */
  keys?: string[];
  /**
   * The executable bit as last written or captured (files written whole); absent in a state.json of a gitbus before
   * it, where the profile's bit counts.
   */
  executable?: boolean;
  /** When it was written or captured. */
  at: string;
}

export interface EnvStateFile {
  format: 1;
  profile: string;
  /**
   * The manifest's `updated` of the newest profile this node applied or captured: a node that enforces a trust root
   * refuses an older one (a signed profile put back by someone with push access, PROTOCOL.md §13 "Signing").
   */
  updated?: string;
  files: Record<string, SyncedFile>;
}

export function statePath(home: string, profile: string): string {
  return join(home, 'env', profile, 'state.json');
}

const isSynced = (v: unknown): v is SyncedFile =>
  typeof v === 'object' && v !== null && typeof (v as SyncedFile).hash === 'string' && ((v as SyncedFile).keys === undefined || (Array.isArray((v as SyncedFile).keys) && ((v as SyncedFile).keys as unknown[]).every((k) => typeof k === 'string')));

export function readState(home: string, profile: string): EnvStateFile {
  const empty: EnvStateFile = { format: 1, profile, files: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(statePath(home, profile), 'utf8'));
  } catch {
    return empty;
  }
  const files = (raw as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null) return empty;
  const updated = (raw as { updated?: unknown }).updated;
  return { format: 1, profile, ...(typeof updated === 'string' && Number.isFinite(instantMs(updated)) ? { updated } : {}), files: Object.fromEntries(Object.entries(files).filter(([k, v]) => whyNotTarget(k) === undefined && isSynced(v))) };
}

export function writeState(home: string, state: EnvStateFile): void {
  const path = statePath(home, state.profile);
  const text = `${JSON.stringify(state, null, 2)}\n`;
  // A watcher looks every minute; an unchanged state is not written again.
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    // Not there yet: written below.
  }
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileAtomicSync(path, text);
}

/** The later of two manifest times (either may be absent): what state.json keeps as `updated`. */
export function laterUpdated(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return instantMs(b) > instantMs(a) ? b : a;
}

/** Whether this node's state.json records an entry of the profile: a file it names, or a file under a folder it names. */
export function knowsTarget(state: EnvStateFile, target: string, kind: 'file' | 'dir'): boolean {
  if (kind === 'file') return state.files[target] !== undefined;
  const prefix = `${target}/`;
  return Object.keys(state.files).some((t) => t.startsWith(prefix));
}
