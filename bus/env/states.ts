import { CARD_DRIFT_LIMIT, type CardEnv, type EnvState } from '../../schemas/env-drift.js';
import { ownCopyHint } from './hint-commands.js';

/**
 * The four states of a synced file by content hash, pure (docs/PROTOCOL.md "env/ profiles"), as chezmoi judges
 * them: what the bus wants (B), what the node has (L), and what this node last wrote or read (S, its state.json).
 */

export interface Hashes {
  /** B: the profile's content (for a file merged by keys, over the profile's keys). */
  bus: string;
  /** L over the profile's keys (the whole file when it is not merged by keys); null: no such file here. */
  local: string | null;
  /** L over the keys of the last sync; the same as `local` for a file written whole. */
  localAtLast: string | null;
  /** S; undefined: this node never wrote nor captured the file. */
  last: string | undefined;
}

export function fileState(h: Hashes): EnvState {
  if (h.local === null) return 'missing-here';
  if (h.local === h.bus) return 'in-sync';
  // A file the node had before it ever synced it, with other content: chezmoi's users lost such files (#1551).
  if (h.last === undefined) return 'conflict';
  const here = h.localAtLast !== h.last;
  const there = h.bus !== h.last;
  if (here && there) return 'conflict';
  return here ? 'changed-here' : 'changed-in-bus';
}

/** `mode`: the content is in sync, but the executable bit is not what the profile says (only the mode is set). */
export type EnvAction = 'none' | 'write' | 'remove' | 'mode';

export interface Decided {
  action: EnvAction;
  /** Why apply leaves the file as it is although it is not in sync. */
  held?: string;
}

/**
 * What apply does with a file in `state`: write what the bus has, or (`removal`: the bus no longer has the file)
 * remove it. A file changed here is never replaced without `force`; `blocked` (a link, a folder) never is. `profile`
 * names the profile in the commands the reason offers; `perNode`, the target when this node may keep its own copy
 * (a file entry that names no node): then the reason offers that too, as both others would give one machine's file
 * to another.
 */
export function decide(state: EnvState, opts: { profile: string; force: boolean; removal?: boolean; blocked?: string; perNode?: string }): Decided {
  if (state === 'in-sync') return { action: 'none' };
  if (opts.blocked !== undefined) return { action: 'none', held: opts.blocked };
  const act: EnvAction = opts.removal ? 'remove' : 'write';
  if (state === 'missing-here' || state === 'changed-in-bus') return { action: act };
  if (opts.force) return { action: act };
  const p = opts.profile;
  const own = opts.perNode !== undefined && !opts.removal ? `; ${ownCopyHint(p, [opts.perNode])}` : '';
  return {
    action: 'none',
    held: state === 'changed-here'
      ? `changed here since the last sync: capture it ("gitbus env capture ${p}"), or replace it with "gitbus env apply ${p} --force" (a backup is kept)${own}`
      : `changed here and in the bus: look at "gitbus env diff ${p}", then capture yours for every node ("gitbus env capture ${p} --force") or take the bus's ("gitbus env apply ${p} --force"; a backup is kept)${own}`,
  };
}

/** One profile's drift as a node card shows it: counts per state, and the first files not in sync. */
export function cardEnvOf(profile: string, apply: 'auto' | 'manual' | undefined, files: readonly { target: string; state: EnvState }[], problem?: string): CardEnv {
  const counts: CardEnv['counts'] = {};
  for (const f of files) counts[f.state] = (counts[f.state] ?? 0) + 1;
  const drifting = files.filter((f) => f.state !== 'in-sync');
  const shown = drifting.slice(0, CARD_DRIFT_LIMIT).map((f) => ({ target: f.target.slice(0, 1100), state: f.state }));
  return {
    profile,
    ...(apply ? { apply } : {}),
    counts,
    ...(shown.length ? { drift: shown } : {}),
    ...(drifting.length > shown.length ? { more: drifting.length - shown.length } : {}),
    ...(problem !== undefined ? { problem: problem.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, 500) } : {}),
  };
}

/** "3 in sync, 1 changed here" for one profile's counts. */
export function countsText(counts: CardEnv['counts']): string {
  const order: EnvState[] = ['in-sync', 'changed-here', 'changed-in-bus', 'conflict', 'missing-here'];
  const parts = order.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s.replace(/-/g, ' ')}`);
  return parts.length ? parts.join(', ') : 'no files';
}

export type CaptureDecision = 'take' | 'keep-bus' | 'conflict';

/**
 * What `capture` does with one file of this machine, by the same three hashes: take it, leave the bus's (it is newer
 * and this node did not change the file since it last synced), or refuse (both changed: one node must not undo
 * another's capture unseen). `force` takes this machine's file whatever the bus has.
 */
export function captureDecision(bus: string | undefined, local: string, last: string | undefined, force: boolean): CaptureDecision {
  if (force || bus === undefined || local === bus) return 'take';
  if (last === undefined) return 'conflict';
  if (local === last) return 'keep-bus';
  return bus === last ? 'take' : 'conflict';
}

/** Whether `capture` removes from a folder entry a file the bus has and this machine has not: only one it had and deleted. */
export function captureRemoves(bus: string, last: string | undefined, force: boolean): boolean {
  return force || (last !== undefined && last === bus);
}
