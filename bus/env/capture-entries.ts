import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { EnvEntry } from '../../schemas/env-manifest.js';
import { neverSynced, TARGET_RULE, targetRel, whyNotTarget } from '../../schemas/env-paths.js';
import { InputError } from '../errors.js';
import type { CaptureOptions } from './capture.js';
import { localKeys } from './capture-take.js';
import { EnvTargetRefusedError } from './errors.js';
import { localKind, reachesOwnHome, type OwnHome } from './local.js';
import { JSON_MERGED } from './resolve.js';

/**
 * The entries `gitbus env capture --add` makes or changes (bus/env/capture.ts): a path as a target, the entry for
 * it as the file or folder is here, and where --keys goes.
 */

/** `~/x`, `/home/me/x` or `x` (from `cwd`) as a target `~/x`, or the reason it cannot be one. */
export function asTarget(path: string, userHome: string, cwd: string, own: OwnHome): string {
  let rel: string;
  if (path === '~' || path.startsWith('~/')) rel = path.slice(2);
  else {
    const abs = isAbsolute(path) ? resolve(path) : resolve(cwd, path);
    rel = relative(resolve(userHome), abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new EnvTargetRefusedError(path, `it is not inside the home folder ${userHome}`, `profiles hold files of the home folder only: ${TARGET_RULE}`);
    rel = rel.split(sep).join('/');
  }
  const target = `~/${rel.replace(/\/+$/, '')}`;
  const why = whyNotTarget(target);
  if (why !== undefined) throw new EnvTargetRefusedError(path, `not a target: ${why}`, `write ${TARGET_RULE}`);
  const never = neverSynced(targetRel(target), own.rels) ?? reachesOwnHome(userHome, targetRel(target), own);
  if (never !== undefined) throw new EnvTargetRefusedError(target, `it is never synced: ${never}`, 'leave it out of the profile');
  return target;
}

function sourceFor(target: string, variant: CaptureOptions['variant'], node: string, os: string): string {
  const rel = targetRel(target);
  return variant === 'node' ? `node/${node}/${rel}` : variant === 'os' ? `os/${os}/${rel}` : `home/${rel}`;
}

/** The entry for a path added with --add: file or folder as it is here, merged by keys for Claude Code's settings. */
export function entryFor(target: string, opts: CaptureOptions, userHome: string, node: string, os: string, existing: EnvEntry | undefined): EnvEntry {
  const rel = targetRel(target);
  const kind = localKind(userHome, rel);
  if (kind === 'missing') throw new EnvTargetRefusedError(target, 'there is no such file or folder here', 'give a path that exists on this machine');
  if (kind === 'other') throw new EnvTargetRefusedError(target, 'it is not a regular file or folder', 'capture regular files and folders');
  const json = kind === 'file' && (existing?.merge === 'json' || JSON_MERGED.has(rel));
  // The keys a profile manages are written down when the entry is made (every key of this machine's file but the
  // ones naming its own folders), so that a later capture on another node does not turn that node's keys into the
  // profile's. --keys changes the list.
  const keys = opts.keys ?? existing?.keys ?? (json ? localKeys(userHome, rel) : undefined);
  return {
    source: existing?.source ?? sourceFor(target, opts.variant, node, os),
    target,
    ...(kind === 'dir' ? { kind: 'dir' as const } : {}),
    ...(json ? { merge: 'json' as const } : {}),
    ...(json && keys ? { keys } : {}),
    ...(opts.variant === 'os' ? { os: [os as 'linux'] } : {}),
    ...(opts.variant === 'node' ? { nodes: [node] } : {}),
    // Captured again without --variant: it stays in the variant it is in.
    ...(opts.variant === undefined && existing?.os ? { os: existing.os } : {}),
    ...(opts.variant === undefined && existing?.nodes ? { nodes: existing.nodes } : {}),
  };
}

/**
 * Where --keys goes: the added file merged by keys; without --add, the profile's one entry merged by keys (taken
 * again with the new list). Refused where no such file is named, rather than ignored: the user asked for a change.
 */
export function keysTo(profile: string, keys: string[], entries: EnvEntry[], added: readonly string[], addedEntries: Set<EnvEntry>, toTake: EnvEntry[]): void {
  const flag = { flag: '--keys', profile };
  if (added.length > 0) {
    if ([...addedEntries].some((e) => e.merge === 'json')) return;
    throw new InputError(`--keys chooses the top-level keys of a file merged by keys, and ${added.join(', ')} ${added.length === 1 ? 'is' : 'are'} written whole`, 'leave --keys out, or give it with --add naming a file merged by keys (~/.claude/settings.json)', flag);
  }
  const json = entries.flatMap((e, i) => (e.merge === 'json' ? [i] : []));
  const only = json.length === 1 ? json[0] : undefined;
  const entry = only === undefined ? undefined : entries[only];
  if (only === undefined || entry === undefined) {
    const names = json.map((i) => entries[i]?.target).join(', ');
    throw new InputError(json.length === 0 ? `--keys chooses the top-level keys of a file merged by keys, and profile ${profile} has none` : `profile ${profile} has ${json.length} files merged by keys (${names}): --keys does not say which`, json.length === 0 ? 'add one with --add ~/.claude/settings.json --keys K,...' : 'name the one with --add PATH --keys K,...', flag);
  }
  const changed: EnvEntry = { ...entry, keys };
  entries[only] = changed;
  const at = toTake.indexOf(entry);
  if (at >= 0) toTake[at] = changed;
  else toTake.push(changed);
  addedEntries.add(changed);
}
