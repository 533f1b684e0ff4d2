import type { FileProblem } from '../../schemas/errors.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import type { NodeTrust } from '../../schemas/trust-root.js';
import type { Snapshot } from '../model/snapshot.js';
import { listFolder, type TreeEntry } from '../store/objects.js';
import { ALLOWED_SIGNERS_COPY, CHAIN_DIR, classifyChainName, linkPath, POLICY_COPY } from './chain-files.js';
import { parseLink, verifyRoot, walkChain, type Step, type VerifyEnv, type VersionFiles, type WalkResult } from './chain.js';
import { acceptedOf, advancePin, loadPin, type TrustPin } from './pin.js';
import { parseVersion, type TrustVersion } from './version-content.js';

/**
 * The trust root as this node sees it (docs/PROTOCOL.md §12): the chain read from one snapshot of the bus
 * (readChain, thin I/O), judged from this node's pin (evaluateTrust, pure).
 */

export interface ChainOnBus {
  /** Whether the bus has a trust root at all (anything in trust/chain/). */
  present: boolean;
  versions: Map<number, VersionFiles>;
  newest: number;
  copies: { allowedSigners?: Uint8Array; policy?: Uint8Array };
  problems: FileProblem[];
}

/** What the chain is read from: one commit of main in the node's store (a Snapshot, or only its commit). */
export type ChainSource = Pick<Snapshot, 'commit' | 'store'>;

const SIGNATURES_OF_CHAIN = `signatures/${CHAIN_DIR}`;

function usableBlob(path: string, e: TreeEntry, problems: FileProblem[]): boolean {
  if (e.type !== 'blob' || e.mode === '120000') {
    problems.push({ path, field: '', reason: e.mode === '120000' ? 'a symbolic link, which is never followed' : 'not a regular file', fix: `remove ${path}`, severity: 'error' });
    return false;
  }
  return true;
}

async function readCapped(snap: ChainSource, path: string, oid: string, problems: FileProblem[]): Promise<Uint8Array | undefined> {
  // Never read whole: anyone with push access writes trust/, and a blob over the object cap would otherwise stop
  // every command of a pinned node (OBJECT_TOO_LARGE), the never-trusted copies at the top of trust/ included.
  const bytes = await snap.store.readBlobUpTo(oid, MAX_FILE_BYTES);
  if (typeof bytes === 'number') {
    problems.push({ path, field: '', reason: `larger than ${MAX_FILE_BYTES} bytes (${bytes})`, fix: `remove ${path}`, severity: 'error' });
    return undefined;
  }
  return bytes;
}

/** Everything of the trust root in one commit of main. Problems are collected, never thrown. */
export async function readChain(snap: ChainSource): Promise<ChainOnBus> {
  const out: ChainOnBus = { present: false, versions: new Map(), newest: 0, copies: {}, problems: [] };
  if (!snap.commit) return out;
  const tree = await snap.store.readCommitTree(snap.commit);
  const versionOf = (n: number): VersionFiles => {
    let v = out.versions.get(n);
    if (!v) {
      v = { version: n, signatures: [] };
      out.versions.set(n, v);
    }
    return v;
  };
  for (const e of await listFolder(snap.store, tree, CHAIN_DIR)) {
    const path = `${CHAIN_DIR}/${e.path}`;
    const c = classifyChainName(e.path);
    if (!c) {
      out.problems.push({ path, field: '', reason: 'not a trust chain file (<version>.yaml, <version>.allowed_signers, <version>.policy.yaml)', fix: `remove ${path}`, severity: 'warning' });
      continue;
    }
    if (!usableBlob(path, e, out.problems)) continue;
    const bytes = await readCapped(snap, path, e.oid, out.problems);
    if (!bytes) continue;
    versionOf(c.version)[c.kind] = bytes;
  }
  for (const e of await listFolder(snap.store, tree, SIGNATURES_OF_CHAIN)) {
    const m = /^([1-9][0-9]{0,8})\.yaml\.[0-9a-f]{16}\.sig$/.exec(e.path);
    const path = `${SIGNATURES_OF_CHAIN}/${e.path}`;
    if (!m) continue;
    if (!usableBlob(path, e, out.problems)) continue;
    const bytes = await readCapped(snap, path, e.oid, out.problems);
    if (!bytes) continue;
    versionOf(Number(m[1])).signatures.push({ path, content: bytes });
  }
  // Signatures without a link say nothing; a version is what its link and files make it.
  for (const [n, v] of out.versions) if (!v.link && !v.allowedSigners && !v.policy) out.versions.delete(n);
  out.present = out.versions.size > 0;
  out.newest = Math.max(0, ...out.versions.keys());
  for (const e of await listFolder(snap.store, tree, 'trust')) {
    const path = `trust/${e.path}`;
    if (path !== ALLOWED_SIGNERS_COPY && path !== POLICY_COPY) continue;
    if (!usableBlob(path, e, out.problems)) continue;
    const bytes = await readCapped(snap, path, e.oid, out.problems);
    if (bytes) out.copies[path === ALLOWED_SIGNERS_COPY ? 'allowedSigners' : 'policy'] = bytes;
  }
  return out;
}

export interface TrustReport {
  /** Whether the bus has a trust root. */
  present: boolean;
  /** What this node pinned (null: it has not). */
  pin: TrustPin | null;
  /** The version this node acts on: from its pin forward, or (not pinned) from version 1 forward. Null: none. */
  accepted: TrustVersion | null;
  /** Versions this evaluation moved through past the pin's accepted one. */
  steps: WalkResult['steps'];
  /** Where the chain stops short of the newest version on the bus: a proposal, or a refusal with its reason. */
  stop?: Extract<Step, { status: 'pending' | 'refused' }>;
  /** The content of the version `stop` names when admins may still sign it (a proposal), for them to read first. */
  proposed?: TrustVersion;
  /** The newest version on the bus (0: none). */
  newest: number;
  /** The bus's chain lost versions this node accepted (rolled back or deleted): the node keeps its own. */
  behind?: { bus: number; accepted: number };
  /** Whether the bus still has the version this node pinned, as pinned (null: no pin, or that version is gone). */
  pinMatches: boolean | null;
  /** Whether trust/allowed_signers and trust/policy.yaml are copies of the accepted version. */
  copies: 'match' | 'differ' | 'missing' | 'none';
  problems: FileProblem[];
}

/**
 * Judges the chain from this node's pin. With a pin, the node's stored accepted version is the start and the
 * bus's copy of that version must be the same (else a fork); without one, version 1 must be signed by its own
 * admins and the walk starts there (what join offers to pin).
 */
export function evaluateTrust(chain: ChainOnBus, pin: TrustPin | null, start: TrustVersion | null, env: VerifyEnv): TrustReport {
  const report: TrustReport = { present: chain.present, pin, accepted: start, steps: [], newest: chain.newest, pinMatches: pinMatches(chain, pin), copies: 'none', problems: [...chain.problems] };
  if (start) {
    const own = chain.versions.get(start.version);
    if (own?.link) {
      const link = parseLink(own.link, linkPath(start.version));
      const bus = typeof link === 'string' ? undefined : link.digest;
      if (bus !== start.digest) {
        report.stop = {
          status: 'refused',
          version: start.version,
          reason: `the bus's version ${start.version} (${bus ?? 'unreadable'}) is not the version ${start.version} this node accepted (${start.digest}): a fork of the trust chain`,
          fix: 'find out who rewrote the trust chain; the admins make further changes on top of the version nodes accepted. This node keeps its own.',
          rejected: [],
        };
        report.copies = copiesState(chain, start);
        return report;
      }
    } else if (chain.newest < start.version) {
      report.behind = { bus: chain.newest, accepted: start.version };
    }
    const walk = walkChain(start, chain.versions, env);
    Object.assign(report, { accepted: walk.accepted, steps: walk.steps }, walk.stop ? { stop: walk.stop } : {});
  } else if (chain.present) {
    const first = chain.versions.get(1);
    const root = first ? verifyRoot(first, env) : undefined;
    if (!root?.root) {
      report.stop = root
        ? (root.step as Extract<Step, { status: 'pending' | 'refused' }>)
        : { status: 'refused', version: 1, reason: `there is no version 1 (${linkPath(1)})`, fix: 'the trust root starts at version 1, written by "gitbus trust init"', rejected: [] };
      return report;
    }
    const walk = walkChain(root.root, chain.versions, env);
    Object.assign(report, { accepted: walk.accepted, steps: [root.step as Extract<Step, { status: 'accepted' }>, ...walk.steps] }, walk.stop ? { stop: walk.stop } : {});
  }
  report.copies = report.accepted ? copiesState(chain, report.accepted) : 'none';
  const stop = report.stop;
  const files = stop && (stop.status === 'pending' || stop.unsigned) ? chain.versions.get(stop.version) : undefined;
  const proposed = files?.allowedSigners && files.policy ? parseVersion(files.version, files.allowedSigners, files.policy) : undefined;
  if (proposed?.ok) report.proposed = proposed.value;
  return report;
}

function pinMatches(chain: ChainOnBus, pin: TrustPin | null): boolean | null {
  const link = pin ? chain.versions.get(pin.pinned.version)?.link : undefined;
  if (!pin || !link) return null;
  const parsed = parseLink(link, linkPath(pin.pinned.version));
  return typeof parsed !== 'string' && parsed.digest === pin.pinned.digest;
}

function copiesState(chain: ChainOnBus, v: TrustVersion): TrustReport['copies'] {
  const { allowedSigners, policy } = chain.copies;
  if (!allowedSigners || !policy) return 'missing';
  const same = Buffer.from(allowedSigners).toString('utf8') === v.allowedSigners && Buffer.from(policy).toString('utf8') === v.policyText;
  return same ? 'match' : 'differ';
}

/**
 * The trust root of `snap` as this node (home) sees it, and the pin moved forward to the newest version it
 * accepts, so that the next look starts there and a later rewrite of what it accepted is a fork.
 */
export async function loadTrust(snap: ChainSource, home: string, node: NodeTrust = {}, now = new Date()): Promise<TrustReport> {
  const chain = await readChain(snap);
  const pin = loadPin(home);
  const start = pin ? acceptedOf(pin, home) : null;
  const report = evaluateTrust(chain, pin, start, { node, now });
  if (pin && report.accepted && report.accepted.version > pin.accepted.version) report.pin = advancePin(home, report.accepted, now);
  return report;
}
