import { transact, type TransactOptions, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import { claimDecider, type BatchLimits, type ClaimOptions, type ClaimResult, type ClaimTarget } from './claim.js';
import { decideResponses, type BatchResponse, type RespondInput } from './respond.js';

/** The claim that rides along with a node's results: what `claimBatch` would be asked for the slots they free. */
export interface NextClaim {
  target: Extract<ClaimTarget, { next: true }>;
  limits: BatchLimits;
  now?: () => Date;
  opts?: Pick<ClaimOptions, 'signerOf' | 'onLostRace'>;
  /** Called before a push that carries claims (the watcher's beat before a claim, as claimBatch's beforeWrite). */
  beforeWrite?: TransactOptions['beforeWrite'];
}

export interface RespondAndClaimResult {
  responses: BatchResponse[];
  /** The tasks claimed in the same commit: none when nothing was claimable (then the results went alone). */
  claims: ClaimResult[];
}

/**
 * This node's results and its next claims in ONE commit (docs/PROTOCOL.md §5, "Answering and claiming in one
 * commit"): a busy watcher whose run ends answers it and takes the next task with one push instead of two. Both
 * are decided from the same snapshot exactly as `respondBatch` and `claimBatch` decide them alone, and the commit
 * is won or lost as a whole. The results come first: when nothing may be claimed (an empty queue, tasks left for
 * nodes ranked before this one, any claim error) they go alone, and the caller's ordinary claim decides again and
 * reports why. The claim rides in every round: a round after a refused push first keeps the tasks the last one
 * picked (bus/ops/claim.ts keptPicks), which costs it little, where results sent alone would cost the claim a push
 * of its own on a main that has just refused this one (docs/PERFORMANCE.md "Claims that ride every round, session
 * 66"). No claim goes without a result to carry it: with no result left to write, nothing is pushed.
 */
export async function respondAndClaim(ctx: BusContext, inputs: readonly RespondInput[], next: NextClaim): Promise<RespondAndClaimResult & TransactStats> {
  const decideClaim = claimDecider(ctx, next.target, next.limits, next.now ?? (() => new Date()), next.opts ?? {});
  /** Whether the decision being pushed carries claims: its refusal is then a race the claim lost. */
  let claiming = false;
  const onLostRace = next.opts?.onLostRace;
  return transact(
    ctx,
    'respond',
    async (snap, round) => {
      claiming = false;
      const answered = await decideResponses(ctx, snap, inputs);
      if (!answered.commit) return { result: { responses: answered.responses, claims: [] } };
      let claims: ClaimResult[] = [];
      let claimChanges: FileChange[] = [];
      try {
        const d = await decideClaim(snap, round);
        if (d.commit) {
          claims = d.result.claims;
          claimChanges = d.commit.changes;
        }
      } catch {
        // Nothing claimable now, or a claim that may not be made: the results must not wait for it, and the
        // watcher's own claim after them decides again and says why.
      }
      claiming = claims.length > 0;
      return {
        result: { responses: answered.responses, claims },
        commit: { changes: [...answered.commit.changes, ...claimChanges], message: messageOf(ctx.config.node, answered.responses, claims, answered.commit.message) },
      };
    },
    {
      onRetry: () => {
        if (claiming) onLostRace?.('rejected');
      },
      beforeWrite: async () => {
        if (claiming) await next.beforeWrite?.();
      },
    },
  );
}

/** `gitbus: respond A done and claim B attempt 1 by node`, or counts with one line per task below. Pure. */
export function messageOf(node: string, responses: readonly BatchResponse[], claims: readonly ClaimResult[], respondOnly: string): string {
  if (claims.length === 0) return respondOnly;
  // One response each, though a result given twice in the batch answered two inputs.
  const done = [...new Map(responses.flatMap((r) => (r.ok ? [[r.result.id, r.result] as const] : []))).values()];
  const first = done[0];
  const claimed = claims[0];
  const answered = done.length === 1 && first ? `respond ${first.id} ${first.status}` : `respond ${done.length} tasks`;
  const took = claims.length === 1 && claimed ? `claim ${claimed.id} attempt ${claimed.attempt}` : `claim ${claims.length} tasks`;
  const subject = `gitbus: ${answered} and ${took} by ${node}`;
  if (done.length === 1 && claims.length === 1) return subject;
  return `${subject}\n\n${[...done.map((r) => `${r.id} ${r.status}`), ...claims.map((c) => `${c.id} attempt ${c.attempt}`)].join('\n')}`;
}
