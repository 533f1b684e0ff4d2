import { readFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from './local-io.js';
import { withLocalLockSync } from './lock.js';
import { listingLagMs, NO_OBSERVATIONS, observe, type Observation, type Observations } from './model/liveness.js';
import { joinPlain } from './join-plain.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. `listedAt` is when `refs` were listed (this node's clock). Several
 * processes of a node update it: a write's read-modify-write runs under a short lock of its own (never held across
 * network I/O), and the file is replaced atomically, so a fold that turns out to change nothing to write is decided
 * from a read without the lock. `holding`: the open claims of each node in the main this
 * listing goes with (bus/ops/claim-holders.ts), when the caller read it.
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number, holding?: ReadonlyMap<string, readonly string[]>): Observations {
  const path = joinPlain(home, 'liveness.json');
  if (listedAt <= 0) return readObservations(home); // nothing listed yet
  // Decided from a read without the lock (the file is replaced whole, so the read is of one version). A heartbeat
  // that moved (or a node that came or went) is written at once: another process of the node that then folds a
  // listing older than this one's changes nothing, rather than judge the node from before its beat. The rest (main's
  // moves, the listing time, which claims a node holds) at most once a listingLag: a watcher on a busy bus lists the
  // remote several times a wake, main moves at each, and a lock and a write for each were a file system's worth of
  // work in every claim's decision (issue 14). Meanwhile this process folds into what it holds (`held`), so it counts
  // every move it saw.
  const text = readObservationsText(home);
  const { base, fileListedAt } = baseOf(path, text);
  const next = observe(base, refs, listedAt, leaseMs, holding);
  if (next === base) return next;
  const behind = fileListedAt === null || next.listedAt === null ? Number.POSITIVE_INFINITY : next.listedAt - fileListedAt;
  if (behind >= 0 && behind < listingLagMs(leaseMs) && !beatsMoved(base, next)) {
    held.set(path, { text, fileListedAt, obs: next });
    return next;
  }
  return withLocalLockSync(`${path}.lock`, () => {
    const fresh = readObservationsText(home);
    // Another process wrote since the read: its file is folded into, and what this one held alone is dropped.
    const again = fresh === text ? next : observe(baseOf(path, fresh).base, refs, listedAt, leaseMs, holding);
    const out = JSON.stringify(again);
    try {
      if (out !== fresh) writeFileAtomicSync(path, out);
      held.set(path, { text: out, fileListedAt: again.listedAt, obs: again });
    } catch (err) {
      // A full disk must not stop a node from reading the bus; unsaved first sightings are simply made again
      // later, which only delays an expiry (the safe direction).
      if (!isDiskFull(err)) throw err;
    }
    return again;
  });
}

/**
 * What this process folded in and has not written (a listingLag at most), by the file's path, with the text of the
 * file it was folded onto: used while the file is still that text. It never holds a heartbeat's move (written at
 * once). Another process that reads the file a moment older and sees a claim this one saw already counts that
 * node's silence from its own sighting, later (a later expiry, the safe direction); what is lost with a process
 * that ends, or when another writes first, is a few seconds of counted pushes (the budget report's, never a decision's).
 */
const held = new Map<string, { text: string | null; fileListedAt: number | null; obs: Observations }>();

/** What a fold starts from: what this process holds over the file's `text`, else the file; and the file's listing time. */
function baseOf(path: string, text: string | null): { base: Observations; fileListedAt: number | null } {
  const h = held.get(path);
  if (h && h.text === text) return { base: h.obs, fileListedAt: h.fileListedAt };
  // Another process wrote since: what this one held is dropped.
  if (h) held.delete(path);
  const base = parseObservations(text);
  return { base, fileListedAt: base.listedAt };
}

/**
 * Whether a node's heartbeat value differs between two observations, or a node is in one only. What is held
 * unwritten never differs from the file there (such a fold is written at once), so the fold's base is compared.
 */
function beatsMoved(before: Observations, after: Observations): boolean {
  const names = Object.keys(after.nodes);
  if (names.length !== Object.keys(before.nodes).length) return true;
  return names.some((n) => before.nodes[n]?.oid !== after.nodes[n]?.oid);
}

/** The observations as this process last folded them: the file, or what it holds over it and has not written yet. */
export function readObservations(home: string): Observations {
  const path = joinPlain(home, 'liveness.json');
  return baseOf(path, readObservationsText(home)).base;
}

function readObservationsText(home: string): string | null {
  try {
    return readFileSync(joinPlain(home, 'liveness.json'), 'utf8');
  } catch {
    return null; // first observation, or an unreadable file
  }
}

function parseObservations(text: string | null): Observations {
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'nodes' in parsed && 'listedAt' in parsed) return wellFormed(parsed);
  } catch {
    // An unreadable file.
  }
  // Nothing usable (or the file of an older gitbus, without listing times): every clock starts at the next
  // listing, the safe direction (later expiry).
  return NO_OBSERVATIONS;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The file's observations as this version writes them: a node whose record is not (a file damaged or edited by hand)
 * is left out, which restarts its clock at the next listing (a later expiry, the safe direction); a field that is not
 * is dropped. Nothing in a home's files may end a command in an internal error.
 */
function wellFormed(raw: object): Observations {
  const r = raw as Record<string, unknown>;
  if (!(r['listedAt'] === null || isNum(r['listedAt'])) || !isObj(r['nodes'])) return NO_OBSERVATIONS;
  const nodes: Observations['nodes'] = {};
  for (const [name, v] of Object.entries(r['nodes'])) {
    if (!isObj(v) || typeof v['oid'] !== 'string' || !isNum(v['since']) || !isNum(v['counted'])) continue;
    const o: Observation = { oid: v['oid'], since: v['since'], counted: v['counted'], after: isNum(v['after']) ? v['after'] : null };
    const h = v['holding'];
    if (isObj(h) && isNum(h['since']) && Array.isArray(h['claims']) && h['claims'].every((c) => typeof c === 'string')) o.holding = { claims: h['claims'] as string[], since: h['since'] };
    if (Array.isArray(v['changes'])) o.changes = v['changes'].filter(isNum);
    nodes[name] = o;
  }
  const out: Observations = { listedAt: r['listedAt'] as number | null, nodes };
  if (isNum(r['watchedSince'])) out.watchedSince = r['watchedSince'];
  const m = r['main'];
  // main's moves are checked where they are read (bus/model/liveness.ts movesOf).
  if (isObj(m) && typeof m['oid'] === 'string') out.main = m as Observations['main'];
  return out;
}
