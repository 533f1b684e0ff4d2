import type { NodeConfig } from '../bus/home.js';
import { compactLedger, recordSpend, spendToday, type NodeSpend } from '../bus/spend-ledger.js';
import type { Handoff } from '../schemas/handoff.js';
import { ok, skip, warn, type Check } from '../bus/ops/doctor-check.js';
import { MIN_RUN_BUDGET_USD, roundCents, type SpendLimit } from './runners/claude-args.js';

/** A task's own budget: the lower of the handoff's and the node's, or unbounded. Pure. */
export function ownBudget(handoff: Handoff, grants: NodeConfig['claude']): number {
  const budgets = [handoff.claude?.maxBudgetUsd, grants?.maxBudgetUsd].filter((b): b is number => b !== undefined);
  return budgets.length > 0 ? Math.min(...budgets) : Number.POSITIVE_INFINITY;
}

/** What may still be spent today: the cap less what ended runs spent and what running ones may still spend. Pure. */
export function leftToday(capUsd: number, spentUsd: number, reservedUsd: number): number {
  return roundCents(capUsd - spentUsd - reservedUsd);
}

/**
 * The node's daily claude cap as the watcher applies it. A run that starts reserves what it may spend (its
 * budget, which the runner lowers to what is left of the day's cap), so parallel runs cannot together spend more
 * than the cap; when it ends its reservation is replaced by what it did spend (the ledger). While less than
 * MIN_RUN_BUDGET_USD is left the watcher does not claim claude tasks: they stay on the bus for other nodes.
 * A run without a budget of its own gets all that is left, so on a capped node it runs alone unless tasks have
 * budgets (or node.yaml claude.maxBudgetUsd gives them one).
 */
export class SpendCap {
  private readonly reserved = new Map<string, number>();
  readonly capUsd: number | undefined;

  constructor(
    private readonly home: string,
    private readonly grants: NodeConfig['claude'],
  ) {
    this.capUsd = grants?.maxSpendUsdPerDay;
    try {
      compactLedger(home);
    } catch {
      // A ledger that cannot be rewritten only keeps older lines; today's sum is the same.
    }
  }

  /** Today's spend as `status` and the heartbeat show it (ended runs only). */
  today(now = new Date()): NodeSpend {
    return spendToday(this.home, this.capUsd, now);
  }

  private reservedUsd(): number {
    let sum = 0;
    for (const r of this.reserved.values()) sum += r;
    return sum;
  }

  /** The cap and what is spent or reserved, for a claude run about to start; undefined without a cap. */
  limit(now = new Date()): SpendLimit | undefined {
    if (this.capUsd === undefined) return undefined;
    return { capUsd: this.capUsd, spentUsd: this.today(now).spentUsd + this.reservedUsd() };
  }

  /** Whether a claude task may be claimed now. */
  mayClaim(now = new Date()): boolean {
    const l = this.limit(now);
    return l === undefined || leftToday(l.capUsd, l.spentUsd, 0) >= MIN_RUN_BUDGET_USD;
  }

  /** Holds what the run `key` may spend, from the limit it was given; returns that limit (undefined without a cap). */
  reserve(key: string, handoff: Handoff, now = new Date()): SpendLimit | undefined {
    const l = this.limit(now);
    if (l === undefined) return undefined;
    this.reserved.set(key, Math.max(0, Math.min(ownBudget(handoff, this.grants), leftToday(l.capUsd, l.spentUsd, 0))));
    return l;
  }

  /** A run ended: its cost goes into the ledger (any node, cap or not, so status shows spend) and its reservation ends. */
  settle(key: string, run: { id: string; attempt: number; costUsd: number | undefined }, now = new Date()): void {
    this.reserved.delete(key);
    if (run.costUsd !== undefined && run.costUsd > 0) recordSpend(this.home, { at: now.toISOString(), id: run.id, attempt: run.attempt, costUsd: run.costUsd });
  }
}

/** `gitbus doctor`'s line on the daily claude cap: what this node's claude runs spent today (UTC), against the cap. */
export function spendCheck(home: string, config: NodeConfig, now = new Date()): Check {
  const cap = config.claude?.maxSpendUsdPerDay;
  const s = spendToday(home, cap, now);
  const spent = `$${roundCents(s.spentUsd)} spent by claude runs today (${s.day}, UTC)`;
  if (!config.runners.includes('claude') && cap === undefined) return skip('claude.spend', 'the claude runner is not enabled');
  if (cap === undefined) return ok('claude.spend', `${spent}; no daily cap (claude.maxSpendUsdPerDay in node.yaml)`);
  if (s.spentUsd >= cap - MIN_RUN_BUDGET_USD) return warn('claude.spend', `${spent}: the daily cap of $${cap} is reached, so this node takes no claude tasks until 00:00 UTC`, 'wait for the next UTC day, or raise claude.maxSpendUsdPerDay in node.yaml (the watcher reads it at start)');
  return ok('claude.spend', `${spent} of the daily cap of $${cap}`);
}
