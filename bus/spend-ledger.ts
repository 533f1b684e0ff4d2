import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './local-io.js';

/**
 * What this node's claude runs spent, one line per run in `<home>/claude-spend.jsonl`, for the per-node daily cap
 * (node.yaml `claude.maxSpendUsdPerDay`, seed 002's per-machine dollar caps). The watcher appends a run's cost when
 * it ends (the response's `claude.costUsd`, headless or interactive); `status`, `doctor` and the watcher's next
 * claim sum the lines of the current UTC day. Only the last two days are kept.
 */
export interface SpendEntry {
  /** When the run ended (this node's clock). */
  at: string;
  id: string;
  attempt: number;
  costUsd: number;
}

/** What a node's claude runs spent on one UTC day, against its daily cap (null: no cap). */
export interface NodeSpend {
  day: string;
  spentUsd: number;
  capUsd: number | null;
}

export const ledgerPath = (home: string): string => join(home, 'claude-spend.jsonl');

/** The UTC day of a time, yyyy-mm-dd: the cap's day starts at 00:00 UTC on every node alike. Pure. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The entries of a ledger's text; lines that do not parse or make no sense are skipped. Pure. */
export function parseLedger(text: string): SpendEntry[] {
  const out: SpendEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as Partial<SpendEntry>;
      if (typeof e.at === 'string' && Number.isFinite(Date.parse(e.at)) && typeof e.id === 'string' && Number.isInteger(e.attempt) && typeof e.costUsd === 'number' && Number.isFinite(e.costUsd) && e.costUsd >= 0) {
        out.push({ at: e.at, id: e.id, attempt: e.attempt as number, costUsd: e.costUsd });
      }
    } catch {
      // A line cut short by a crash: that run's cost is lost, the rest counts.
    }
  }
  return out;
}

/** What the runs that ended on `day` (UTC) spent; a run recorded twice counts once (its last entry). Pure. */
export function spentOn(entries: SpendEntry[], day: string): number {
  const byRun = new Map<string, number>();
  for (const e of entries) if (utcDay(new Date(e.at)) === day) byRun.set(`${e.id}.${e.attempt}`, e.costUsd);
  let sum = 0;
  for (const c of byRun.values()) sum += c;
  return Math.round(sum * 1e6) / 1e6;
}

export function readLedger(home: string): SpendEntry[] {
  try {
    return parseLedger(readFileSync(ledgerPath(home), 'utf8'));
  } catch {
    return [];
  }
}

/** Appends one run's cost (a single short write, so concurrent runs ending do not mix their lines). */
export function recordSpend(home: string, entry: SpendEntry): void {
  appendFileSync(ledgerPath(home), `${JSON.stringify(entry)}\n`);
}

/** Keeps only the entries of today and yesterday (UTC), so the ledger stays a few lines long. */
export function compactLedger(home: string, now = new Date()): void {
  const entries = readLedger(home);
  const keep = new Set([utcDay(now), utcDay(new Date(now.getTime() - 86_400_000))]);
  const kept = entries.filter((e) => keep.has(utcDay(new Date(e.at))));
  if (kept.length === entries.length) return;
  writeFileAtomicSync(ledgerPath(home), kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

/** Today's spend (UTC) of the node of `home`, with its cap. */
export function spendToday(home: string, capUsd: number | undefined, now = new Date()): NodeSpend {
  const day = utcDay(now);
  return { day, spentUsd: spentOn(readLedger(home), day), capUsd: capUsd ?? null };
}
