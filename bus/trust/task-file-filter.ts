import type { FileRef, ForgedFile, TaskFiles } from '../model/types.js';

/**
 * Which of a task's claims, releases and response count on a node that enforces trust (docs/PROTOCOL.md §12, "Files
 * a node writes", "Who may end or free another node's claim"). Each file is judged on its own first (the judge:
 * signed by the node it names, or an unlisted node's while the version accepts them); then the holder rules, which
 * stop a node the version does not list — a made-up name included — from overriding a listed node's claim:
 *
 * - a release counts only from the node that holds the claim it gives back;
 * - a `succeeded` or `timed-out` response counts only from the holder of the attempt it names (only the holder runs
 *   a task);
 * - a `failed` or `cancelled` response (a reap, by whichever node noticed the holder went silent) ending a claim a
 *   listed node holds counts only from a listed node;
 * - a claim counts over another node's open claim (a reclaim) only when a listed node writes it, where a listed node
 *   holds that claim;
 * - a delivery counts only from the node whose claim of that attempt counts (only it holds the worktree it pushed).
 *
 * Without trust nothing here runs: anyone with push access can write any file, as before.
 */

/** What a judge says of one file: forged (taken out), or counted, with what the holder rules read. */
export type JudgedFile =
  | { forged: ForgedFile }
  | {
      forged: null;
      /** The path a forged entry is listed under (`archive:<month>/<id>/<name>` for an archived file). */
      path: string;
      /** How a fix names the file (an archived one: where it is on the archive branch). */
      where: string;
      /** Signed by a key the version lists for the node it names; false: counted as an unlisted node's, unsigned. */
      signed: boolean;
      /** The node it speaks for: the one it names, or for one that does not parse, the listed node that signed it. */
      node: string | null;
      /** Its fields when it parses; null otherwise (then only its own problems say what is wrong). */
      data: Readonly<Record<string, unknown>> | null;
    };

export type FileJudge = (ref: FileRef, kind: ForgedFile['kind']) => Promise<JudgedFile>;

type Counted = Extract<JudgedFile, { forged: null }>;

interface Holder {
  attempt: number;
  node: string | null;
  signed: boolean;
}

const nodeOf = (j: Counted): string | null => j.node ?? (typeof j.data?.['node'] === 'string' ? j.data['node'] : null);
const named = (node: string | null): string => (node === null ? 'no node (it does not parse)' : `node ${node}`);

/**
 * Only what decides the task's state is judged: claims from the highest down to the first that counts (and, under a
 * claim an unlisted node wrote, the claim it would take over), that claim's release, and the response. Returns
 * `files` when nothing is forged, else a copy without the forged files: a TaskFiles object is shared by the snapshots
 * of every process-wide index (bus/model/index-tree.ts IndexMemo), so it is never changed in place. An archived
 * task's files are judged one by one only (`holderRules` false, bus/ops/archived-trust.ts): it ended under the rules
 * of the gitbus that archived it, which let an unlisted node reclaim and end a listed node's task; a task whose end a
 * holder rule forges on main is never archived.
 */
export async function filterTaskFiles(files: TaskFiles, judge: FileJudge, forged: ForgedFile[], holderRules = true): Promise<TaskFiles> {
  let out = files;
  const own = (): TaskFiles => {
    if (out === files) out = { ...files, claims: new Map(files.claims), releases: new Map(files.releases), ...(files.deliveries ? { deliveries: new Map(files.deliveries) } : {}) };
    return out;
  };
  const claimVerdicts = new Map<number, Holder | null>();
  const claimAt = async (a: number): Promise<Holder | null> => {
    if (claimVerdicts.has(a)) return claimVerdicts.get(a) ?? null;
    const ref = out.claims.get(a);
    let holder: Holder | null = null;
    if (ref) {
      const j = await judge(ref, 'claim');
      if (j.forged) dropClaim(a, j.forged);
      else holder = { attempt: a, node: nodeOf(j), signed: j.signed };
    }
    claimVerdicts.set(a, holder);
    return holder;
  };
  const dropClaim = (a: number, f: ForgedFile): void => {
    const t = own();
    t.claims.delete(a);
    t.takenAttempt = Math.max(t.takenAttempt ?? 0, a);
    forged.push({ ...f, id: files.id });
  };
  const releaseVerdicts = new Map<number, boolean>();
  /** Whether `holder`'s claim was given back by a release that counts; a forged one is taken out. */
  const released = async (holder: Holder): Promise<boolean> => {
    const known = releaseVerdicts.get(holder.attempt);
    if (known !== undefined) return known;
    const ref = out.releases.get(holder.attempt);
    let counts = false;
    if (ref) {
      const j = await judge(ref, 'release');
      const f = j.forged ?? (holderRules ? releaseNotFromHolder(j, holder, files.id) : null);
      if (f) {
        own().releases.delete(holder.attempt);
        forged.push({ ...f, id: files.id });
      } else counts = true;
    }
    releaseVerdicts.set(holder.attempt, counts);
    return counts;
  };
  const attempts = [...files.claims.keys()].sort((a, b) => b - a);
  let top: Holder | null = null;
  for (const [i, a] of attempts.entries()) {
    const c = await claimAt(a);
    if (!c) continue;
    if (holderRules && !c.signed) {
      // The listed node's claim it would take over: the highest counting signed claim below, past unsigned ones (a
      // made-up name may stack several claims: each is judged against the listed claim, not the one just below).
      let below: Holder | null = null;
      for (const b of attempts.slice(i + 1)) {
        const h = await claimAt(b);
        if (h?.signed) {
          below = h;
          break;
        }
      }
      if (below && !(await released(below))) {
        const ref = out.claims.get(a);
        if (ref) dropClaim(a, takeover(ref.path, c, below));
        // Dropped, it holds nothing: a delivery of that attempt in its node's name must not count by it.
        claimVerdicts.set(a, null);
        continue;
      }
    }
    top = c;
    break;
  }
  const open = top && !(await released(top)) ? top : null;
  if (out.response) {
    const j = await judge(out.response, 'response');
    const f = j.forged ?? (holderRules ? responseNotAllowed(j, top, open, files.id) : null);
    if (f) {
      delete own().response;
      forged.push({ ...f, id: files.id });
    }
  }
  for (const [a, ref] of files.deliveries ?? []) {
    const j = await judge(ref, 'delivery');
    const f = j.forged ?? (holderRules ? deliveryNotFromHolder(j, await claimAt(a), a) : null);
    if (f) {
      own().deliveries?.delete(a);
      forged.push({ ...f, id: files.id });
    }
  }
  return out;
}

function deliveryNotFromHolder(j: Counted, holder: Holder | null, attempt: number): ForgedFile | null {
  const node = nodeOf(j);
  if (holder !== null && node !== null && node === holder.node) return null;
  const held = holder === null ? `no claim of attempt ${attempt} counts` : `attempt ${attempt} is held by ${named(holder.node)}`;
  return {
    path: j.path,
    kind: 'delivery',
    node,
    reason: `a delivery in the name of ${named(node)}, but ${held}: only the node holding an attempt says that its branch reached the project remote`,
    fix: `remove ${j.where}; the holder writes its own delivery when its push lands`,
  };
}

function releaseNotFromHolder(j: Counted, holder: Holder, id: string): ForgedFile | null {
  const node = nodeOf(j);
  if (node === holder.node) return null;
  return {
    path: j.path,
    kind: 'release',
    node,
    reason: `a release in the name of ${named(node)}, but attempt ${holder.attempt} is held by ${named(holder.node)}: only the node holding a claim gives it back`,
    fix: `remove ${j.where}${holder.node === null ? '' : `; if ${holder.node} should give the task back, it runs "gitbus release ${id}" itself`}`,
  };
}

function takeover(path: string, c: Holder, below: Holder): ForgedFile {
  return {
    path,
    kind: 'claim',
    node: c.node,
    reason: `attempt ${c.attempt} in the name of ${named(c.node)}, which the trust version does not list, would take over attempt ${below.attempt} of ${named(below.node)}, which it lists: only a listed node takes over a listed node's claim`,
    fix: c.node === null ? `remove ${path}` : `if node ${c.node} is one of yours, an admin lists its key ("gitbus trust add node ${c.node}"); otherwise remove ${path}`,
  };
}

function responseNotAllowed(j: Counted, top: Holder | null, open: Holder | null, id: string): ForgedFile | null {
  const node = nodeOf(j);
  if (j.data === null) {
    // It would end the task as invalid under a listed holder's run; signed by a listed node, its problems say why.
    if (open === null || !open.signed || j.signed) return null;
    return {
      path: j.path,
      kind: 'response',
      node: null,
      reason: `it does not parse, so it names no node, and attempt ${open.attempt} is held by ${named(open.node)}, which the trust version lists: only a listed node ends another listed node's task`,
      fix: `remove ${j.where}; the holder's own result replaces it when its run ends`,
    };
  }
  const status = j.data['status'];
  const attempt = typeof j.data['attempt'] === 'number' ? j.data['attempt'] : null;
  if (status === 'succeeded' || status === 'timed-out') {
    // `attempt` is optional in the schema: a holder's result without one (written by hand) ends the claim it holds.
    if (top !== null && (attempt === top.attempt || attempt === null) && node === top.node) return null;
    const held = top === null ? 'no claim of the task counts' : `attempt ${top.attempt} is held by ${named(top.node)}`;
    return {
      path: j.path,
      kind: 'response',
      node,
      reason: `a ${status} result in the name of ${named(node)} for ${attempt === null ? 'no attempt' : `attempt ${attempt}`}, but ${held}: only the node that runs a task reports it ${status}`,
      fix: `remove ${j.where}; the holder's own result replaces it when its run ends (gitbus show ${id})`,
    };
  }
  if (open === null || node === open.node || j.signed || !open.signed) return null;
  return {
    path: j.path,
    kind: 'response',
    node,
    reason: `ends attempt ${open.attempt}, held by ${named(open.node)}, which the trust version lists, in the name of ${named(node)}, which it does not: only a listed node ends another listed node's task`,
    fix: node === null ? `remove ${j.where}` : `if node ${node} is one of yours, an admin lists its key ("gitbus trust add node ${node}"); otherwise remove ${j.where}`,
  };
}
