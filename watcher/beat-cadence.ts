import type { ResolvedSettings } from '../schemas/settings.js';
import { budgetOf, earlyBeatMs, holdingBeatMs, leaseBeatMs, pollEveryMs, presenceMs, type Budget } from '../bus/model/budget.js';
import { HEARTBEAT_PREFIX } from '../bus/model/liveness.js';

/**
 * The watcher's side of the push budget (bus/model/budget.ts): from the settings and what each look at the bus
 * counts (heartbeat refs, nodes holding claims), how often this node beats while it holds claims and while it is
 * idle, how far apart its early beats must be, and how often it polls. The heartbeat timer still ticks at the
 * heartbeat (housekeeping rides on it), or at a third of the lease when that is shorter (`tickMs`); a tick pushes
 * only when `due` says so.
 */
export interface BeatCadence {
  /** After each look: the bus settings, the listing's refs and how many nodes hold open claims. */
  update(settings: ResolvedSettings, refs: ReadonlyMap<string, string>, holders: number): void;
  /** Ms between this node's beats: its holding cadence, or its presence interval when it holds nothing. */
  everyMs(holding: boolean): number;
  /**
   * Ms between two heartbeat ticks: the heartbeat, but at most a third of the lease, since a holder's beat can go
   * out only at a tick and the lease needs three a lease (a `heartbeat` not shorter than the lease is only a warning).
   */
  tickMs(): number;
  /** Whether a heartbeat tick at `now` should push, the last beat having gone out at `lastBeatAt`. */
  due(now: number, lastBeatAt: number, holding: boolean): boolean;
  /**
   * Whether a tick that does not beat should still list the remote: when this node's last listing (any of its
   * processes) is older than a quarter lease, so the gap in its observations never reaches half a lease.
   */
  mustList(now: number, listedAt: number, leaseMs: number): boolean;
  /** The least time between two early beats (progress, spend), for `wantedMs` asked. */
  earlyMs(wantedMs: number): number;
  /** How often to poll: `poll`, stretched to keep the fleet's reads inside the read budget. */
  pollMs(): number;
  budget(): Budget;
}

export interface CadenceOptions {
  /** The remote is a path on this machine: the local budget applies unless gitbus.yaml names one. */
  localRemote: boolean;
  /** `--heartbeat` and `--poll` given on the command line, in place of gitbus.yaml's. */
  heartbeatMs?: number;
  pollMs?: number;
}

/**
 * The shortest tick: a gitbus.yaml with `heartbeat: 1ms` (lint warns, the file is a person's) ticked every
 * millisecond and kept every watcher at a third of a core. A lease too short for beats this far apart cannot be
 * kept by any node anyway; lint says so.
 */
export const MIN_TICK_MS = 250;

export function beatCadence(settings: ResolvedSettings, o: CadenceOptions): BeatCadence {
  let s = settings;
  let nodes = 1;
  let holders = 0;
  const cad = () => ({ ...s, heartbeatMs: o.heartbeatMs ?? s.heartbeatMs, pollMs: o.pollMs ?? s.pollMs });
  const budget = () => budgetOf(s, o.localRemote);
  const tickMs = () => Math.max(MIN_TICK_MS, Math.min(cad().heartbeatMs, leaseBeatMs(s)));
  const everyMs = (holding: boolean) => (holding ? holdingBeatMs(cad(), budget(), Math.max(1, holders)) : presenceMs(cad(), budget(), nodes));
  return {
    update(next, refs, holding) {
      s = next;
      let n = 0;
      for (const ref of refs.keys()) if (ref.startsWith(HEARTBEAT_PREFIX)) n++;
      nodes = Math.max(1, n);
      holders = holding;
    },
    everyMs,
    tickMs,
    // Half a tick early counts: a beat that waited for the next tick would stretch every interval by one.
    due: (now, lastBeatAt, holding) => now - lastBeatAt >= everyMs(holding) - tickMs() / 2,
    mustList: (now, listedAt, leaseMs) => now - listedAt >= leaseMs / 4,
    earlyMs: (wantedMs) => earlyBeatMs(cad(), budget(), Math.max(1, holders), wantedMs),
    pollMs: () => (o.pollMs !== undefined ? o.pollMs : pollEveryMs(cad(), budget(), nodes)),
    budget,
  };
}
