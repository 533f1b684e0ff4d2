import type * as NodeFs from 'node:fs';
import { GitbusError } from '../../schemas/errors.js';
import { GitServiceError } from '../transport/errors.js';
import type { Transport } from '../transport/transport.js';
import { PktLineError } from './errors.js';
import { AtomicPushUnsupportedError, PushFailedError, PushRejectedError, type PushRejectionKind } from './push-errors.js';
import { advertisedCapabilities } from './capabilities.js';
import { GITBUS_AGENT } from './agent.js';
import { ZERO_OID, assertFullRef, assertOid } from './oid.js';
import { FLUSH_PKT, PktLineReader, concatBytes, encodePktLine, pktText } from './pkt-line.js';
import { demuxSideBand } from './side-band.js';
import { writePack } from './pack-writer.js';
import { isoGit } from './iso-git.js';

export interface PushRefOptions {
  fs: typeof NodeFs;
  gitdir: string;
  cache: object;
  transport: Transport;
  /** Full ref name, e.g. `refs/heads/main`. */
  ref: string;
  /** What the remote ref must still point at; ZERO_OID to create it. */
  oldOid: string;
  newOid: string;
  /** Exactly the objects the remote lacks (the new commit's new blobs and trees, and the commit). */
  oids: readonly string[];
  /** The same objects' contents, when the caller has them in memory: packed directly, nothing is re-read. */
  objects?: readonly { type: 'blob' | 'tree' | 'commit'; content: Uint8Array }[];
  /**
   * Other refs moved in the same exchange, each with its own compare-and-swap, all or none (receive-pack's
   * `atomic`): a node leaving the bus removes its card from main and deletes its heartbeat ref at once.
   */
  also?: readonly RefUpdate[];
}

/** One more ref moved by a push: from `oldOid` (ZERO_OID: created) to `newOid` (ZERO_OID: deleted). */
export interface RefUpdate {
  ref: string;
  oldOid: string;
  newOid: string;
}

export interface PushRefResult {
  ref: string;
  oldOid: string;
  newOid: string;
  packBytes: number;
}

/** What receive-pack says of the other refs of an atomic push that one ref's refusal turned down. */
const ATOMIC_FOLLOWER = /^atomic (push|transaction) fail/i;

/**
 * Reasons receive-pack (and hosts) give when the ref is no longer at the old value we named. Everything here
 * means "re-read and try again"; a race between two pushes surfaces as a lock failure, a slower loser as
 * "failed to update ref".
 */
const STALE = /fetch first|non-fast-forward|failed to update ref|failed to lock|cannot lock ref|reference already exists|reference does not exist|reference is missing|unable to resolve reference|stale info|incorrect old value|but expected/i;
const HOOK = /hook declined|hook/i;
const DENIED = /deny|denied|permission|not allowed|protected branch/i;

/** Classify an `ng <ref> <reason>` reason. Only 'stale' is safe to retry. */
export function classifyPushRejection(reason: string): PushRejectionKind {
  if (STALE.test(reason)) return 'stale';
  if (HOOK.test(reason)) return 'hook';
  if (DENIED.test(reason)) return 'denied';
  return 'other';
}

interface Report {
  unpack: string | undefined;
  refs: Map<string, { ok: boolean; reason: string }>;
}

function parseReport(stdout: Uint8Array): Report {
  const reader = new PktLineReader(stdout);
  const report: Report = { unpack: undefined, refs: new Map() };
  while (!reader.atEnd()) {
    const pkt = reader.next();
    if (pkt.type === 'flush') break;
    if (pkt.type !== 'data') continue;
    const line = pktText(pkt.data);
    if (line.startsWith('unpack ')) report.unpack = line.slice(7);
    else if (line.startsWith('ok ')) report.refs.set(line.slice(3), { ok: true, reason: '' });
    else if (line.startsWith('ng ')) {
      const rest = line.slice(3);
      const sp = rest.indexOf(' ');
      const ref = sp < 0 ? rest : rest.slice(0, sp);
      report.refs.set(ref, { ok: false, reason: sp < 0 ? '' : rest.slice(sp + 1) });
    }
    // report-status-v2 "option" lines are never requested, anything else is ignored like git does.
  }
  return report;
}

/**
 * Compare-and-swap one ref on the remote: "move `ref` from oldOid to newOid, here are the objects". One
 * stateless receive-pack exchange, no ref advertisement first (the caller already knows oldOid), so a push is
 * one process spawn for the local transport.
 *
 * Throws PushRejectedError (check `.kind === 'stale'` to decide on a retry) when the remote refused the ref
 * update, PushFailedError when the exchange itself failed.
 */
export async function pushRef(opts: PushRefOptions): Promise<PushRefResult> {
  const { fs, gitdir, cache, transport, ref, oldOid, newOid } = opts;
  const updates: RefUpdate[] = [{ ref, oldOid, newOid }, ...(opts.also ?? [])];
  for (const u of updates) {
    assertFullRef(u.ref);
    assertOid(u.oldOid, 'old object id');
    assertOid(u.newOid, 'new object id');
  }
  if (new Set(updates.map((u) => u.ref)).size !== updates.length) throw new PushFailedError(`push names ${ref} twice`, { ref });
  for (const oid of opts.oids) assertOid(oid);

  // Several refs need the host to apply them all or none: a host that does not advertise `atomic` would apply them
  // one by one (git ignores a capability it did not offer), so it is asked first, at the cost of one exchange.
  if (updates.length > 1 && !advertisedCapabilities(await transport.advertise('git-receive-pack')).has('atomic')) throw new AtomicPushUnsupportedError(transport.display);

  // side-band-64k so that the remote's hook output comes back in-band (band 2) on every transport; an HTTP
  // transport has no stderr to carry it. `quiet` drops unpack progress nobody would see. `atomic` when several
  // refs move: one refusal turns down all (a server configured not to advertise it applies them one by one).
  const caps = `report-status side-band-64k quiet${updates.length > 1 ? ' atomic' : ''} agent=${GITBUS_AGENT}`;
  const commands = updates.map((u, i) => encodePktLine(`${u.oldOid} ${u.newOid} ${u.ref}${i === 0 ? `\0${caps}` : ''}`));
  // A push that only deletes refs sends no pack (receive-pack expects none then).
  const deletesOnly = updates.every((u) => u.newOid === ZERO_OID);
  const packfile = deletesOnly ? new Uint8Array(0) : opts.objects ? writePack(opts.objects) : (await (await isoGit()).packObjects({ fs, gitdir, oids: [...opts.oids], cache })).packfile;
  if (!packfile) throw new PushFailedError('isomorphic-git packObjects returned no pack', { ref });
  const body = concatBytes([...commands, FLUSH_PKT, packfile]);

  let stdout: Uint8Array;
  /** What the remote said: service stderr (local transport) plus side-band messages (hook output). */
  let messages = '';
  try {
    stdout = await transport.rpc('git-receive-pack', body);
  } catch (err) {
    if (!(err instanceof GitServiceError)) {
      if (err instanceof GitbusError) throw err; // CLI missing, timeout: their own fix says more
      throw new PushFailedError(`push of ${ref} to ${transport.display} failed: ${String(err)}`, { ref }, err);
    }
    // receive-pack may exit non-zero after writing a report (e.g. unpack failure): prefer the report.
    stdout = err.stdout;
    messages = err.stderr;
    if (stdout.length === 0) {
      throw new PushFailedError(`push of ${ref} to ${transport.display} failed: ${err.message}`, { ref, messages }, err);
    }
  }

  let report: Report;
  try {
    const demuxed = demuxSideBand(stdout);
    messages = [messages.trim(), demuxed.messages.trim(), demuxed.error?.trim() ?? ''].filter(Boolean).join('\n');
    report = parseReport(demuxed.data);
  } catch (err) {
    if (err instanceof PktLineError) {
      throw new PushFailedError(`push of ${ref} to ${transport.display} got a garbled status report`, { ref, messages }, err);
    }
    throw err;
  }
  if (report.unpack === undefined) {
    throw new PushFailedError(`push of ${ref} to ${transport.display} got no status report`, { ref, messages });
  }
  if (report.unpack !== 'ok') {
    throw new PushFailedError(`the remote ${transport.display} could not store the pushed objects: ${report.unpack}`, {
      ref,
      unpack: report.unpack,
      messages,
    });
  }
  for (const u of updates) {
    if (!report.refs.has(u.ref)) throw new PushFailedError(`the remote ${transport.display} did not report on ${u.ref}`, { ref: u.ref, messages });
  }
  const refused = updates.map((u) => ({ ref: u.ref, status: report.refs.get(u.ref) ?? { ok: false, reason: '' } })).filter((r) => !r.status.ok);
  // Of an atomic push's refusals, the ref that caused it says why; the others only that they went down with it.
  const cause = refused.find((r) => !ATOMIC_FOLLOWER.test(r.status.reason)) ?? refused[0];
  if (cause) {
    // A ref transaction that failed as a whole (an old value no longer there, a lock held) names no ref: git says
    // which in its messages ("cannot lock ref '...': is at ... but expected ..."). A host that says nothing at all is
    // taken to have lost a race: deciding again costs a round, and the retries are bounded (bus/cas.ts); one that
    // says something else is shown what it said.
    const whole = ATOMIC_FOLLOWER.test(cause.status.reason);
    const kind = whole ? classifyPushRejection(messages) : classifyPushRejection(cause.status.reason);
    throw new PushRejectedError({
      ref: cause.ref,
      kind: whole && kind === 'other' && messages.trim() === '' ? 'stale' : kind,
      reason: cause.status.reason,
      remote: transport.display,
      messages,
    });
  }
  return { ref, oldOid, newOid, packBytes: packfile.length };
}
