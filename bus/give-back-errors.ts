import { GitbusError } from '../schemas/errors.js';

// Claims a person gives back (`gitbus leave`, `gitbus release`) at a moment that would lose or double work.

/** `gitbus leave` for a node that holds claims: its own would run nowhere, another node's would never be reclaimed. */
export class NodeHoldsClaimsError extends GitbusError {
  readonly code = 'NODE_HOLDS_CLAIMS';
  constructor(node: string, claims: string[], self: boolean) {
    super(
      `node "${node}" holds ${claims.length} claim(s) (${claims.slice(0, 5).join(', ')}${claims.length > 5 ? ', ...' : ''}); ${self ? 'leaving now would leave them running nowhere' : 'without its heartbeat nobody would ever reclaim them'}`,
      self
        ? 'wait until they end ("gitbus status"), or add --release to give them back to the queue in the same commit (their next attempt starts from scratch on another node)'
        : `wait until a running watcher reclaims them (or ends them, if they are cancelled): it does once it has seen "${node}" silent for longer than the lease, which takes its heartbeat; then leave --node ${node} again`,
      { node, claims },
    );
  }
}

/** `gitbus leave --release` while a held claim's result waits in the outbox: releasing it would lose the work. */
export class ResultsNotDeliveredError extends GitbusError {
  readonly code = 'RESULTS_NOT_DELIVERED';
  constructor(node: string, claims: string[]) {
    super(
      `node "${node}" has finished ${claims.join(', ')} and holds the result(s) in its outbox, not yet on the bus; releasing the claim(s) would throw that work away`,
      'deliver them first: "gitbus watch --once" (with the remote reachable), then leave again',
      { node, claims },
    );
  }
}

/**
 * A claim given back (`release`, `leave --release`) whose run still goes on this machine: its task would run on
 * another node beside it, and this run's result would be refused.
 */
export class RunStillGoesError extends GitbusError {
  readonly code = 'RUN_STILL_GOES';
  constructor(runs: { claim: string; pid: number }[], action: 'release' | 'leave') {
    const listed = runs.slice(0, 5).map((r) => `${r.claim} (process group ${r.pid})`).join(', ') + (runs.length > 5 ? ', ...' : '');
    super(
      `${listed} still ${runs.length === 1 ? 'runs' : 'run'} on this machine: ${action === 'release' ? 'given back now, the task would run on another node beside it' : 'given back by leaving, those tasks would run on other nodes beside these runs'}`,
      `cancel a task to stop its run (gitbus cancel ID), or stop the run's process group (kill -- -PID), then try again; a watcher of this home started again stops the runs its predecessor left and gives their tasks back itself`,
      { runs },
    );
  }
}
