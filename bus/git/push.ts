import type * as NodeFs from 'node:fs';
import { GitbusError } from '../../schemas/errors.js';
import { GitServiceError } from '../transport/errors.js';
import type { Transport } from '../transport/transport.js';
import { PktLineError } from './errors.js';
import { PushFailedError, PushRejectedError, type PushRejectionKind } from './push-errors.js';
import { GITBUS_AGENT } from './agent.js';
import { assertFullRef, assertOid } from './oid.js';
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
}

export interface PushRefResult {
  ref: string;
  oldOid: string;
  newOid: string;
  packBytes: number;
}

/**
 * Reasons receive-pack (and hosts) give when the ref is no longer at the old value we named. Everything here
 * means "re-read and try again"; a race between two pushes surfaces as a lock failure, a slower loser as
 * "failed to update ref".
 */
const STALE = /fetch first|non-fast-forward|failed to update ref|failed to lock|cannot lock ref|reference already exists|stale info|incorrect old value|but expected/i;
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
  assertFullRef(ref);
  assertOid(oldOid, 'old object id');
  assertOid(newOid, 'new object id');
  for (const oid of opts.oids) assertOid(oid);

  // side-band-64k so that the remote's hook output comes back in-band (band 2) on every transport; an HTTP
  // transport has no stderr to carry it. `quiet` drops unpack progress nobody would see.
  const command = encodePktLine(`${oldOid} ${newOid} ${ref}\0report-status side-band-64k quiet agent=${GITBUS_AGENT}`);
  const packfile = opts.objects ? writePack(opts.objects) : (await (await isoGit()).packObjects({ fs, gitdir, oids: [...opts.oids], cache })).packfile;
  if (!packfile) throw new PushFailedError('isomorphic-git packObjects returned no pack', { ref });
  const body = concatBytes([command, FLUSH_PKT, packfile]);

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
  const status = report.refs.get(ref);
  if (!status) throw new PushFailedError(`the remote ${transport.display} did not report on ${ref}`, { ref, messages });
  if (!status.ok) {
    throw new PushRejectedError({
      ref,
      kind: classifyPushRejection(status.reason),
      reason: status.reason,
      remote: transport.display,
      messages,
    });
  }
  return { ref, oldOid, newOid, packBytes: packfile.length };
}
