import { GitbusError } from '../../schemas/errors.js';
import { GitServiceError } from '../transport/errors.js';
import type { Transport } from '../transport/transport.js';
import { PktLineError } from './errors.js';
import { FLUSH_PKT, PktLineReader, concatBytes, encodePktLine, pktText } from './pkt-line.js';
import { demuxSideBand } from './side-band.js';
import { readTar, type TarEntry } from './tar-read.js';

/**
 * `git upload-archive` failed. `served` says whether the service ran at all (it said ACK): a remote that does not
 * run it (GitHub, a forced command, an HTTP server) answers without an ACK; one that ran it and failed (a pathspec
 * that matched nothing, a missing folder) says why in `said`.
 */
export class UploadArchiveError extends GitbusError {
  readonly code = 'UPLOAD_ARCHIVE_FAILED';
  constructor(
    remote: string,
    readonly said: string,
    readonly served: boolean,
    cause?: unknown,
  ) {
    super(
      `git upload-archive on ${remote} ${served ? 'failed' : 'is not served'}: ${said}`,
      served ? 'check that the archive branch is healthy (`git fsck` on the remote); gitbus reads its objects one by one meanwhile' : 'nothing to do: gitbus reads archived tasks through git upload-pack from this remote',
      { remote, said, served },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The request `git archive --remote` sends: one `argument` line per argument, then a flush. */
export function uploadArchiveRequest(args: readonly string[]): Uint8Array {
  return concatBytes([...args.map((a) => encodePktLine(`argument ${a}\n`)), FLUSH_PKT]);
}

/**
 * The tar in an upload-archive response: `ACK` (or `NACK <reason>`), a flush, then side-band packets (1: the tar,
 * 2: git archive's messages, 3: its death) up to a flush.
 */
export function parseUploadArchiveResponse(out: Uint8Array, remote: string, stderr = ''): Uint8Array {
  const reader = new PktLineReader(out);
  let first;
  try {
    first = reader.atEnd() ? null : reader.next();
  } catch (err) {
    throw new UploadArchiveError(remote, 'a malformed response', false, err);
  }
  const head = first?.type === 'data' ? pktText(first.data) : '';
  if (head !== 'ACK') throw new UploadArchiveError(remote, head.startsWith('NACK ') ? head.slice(5) : stderr.trim() || 'no ACK', false);
  let demuxed;
  try {
    if (reader.next().type !== 'flush') throw new UploadArchiveError(remote, 'no flush after its ACK', true);
    demuxed = demuxSideBand(reader.rest());
  } catch (err) {
    if (err instanceof UploadArchiveError) throw err;
    if (err instanceof PktLineError) throw new UploadArchiveError(remote, 'a malformed response', true, err);
    throw err;
  }
  if (demuxed.error !== undefined) throw new UploadArchiveError(remote, `${demuxed.messages.trim()} ${demuxed.error.trim()}`.trim(), true);
  return demuxed.data;
}

/**
 * Runs `git archive --remote` in one exchange: the entries of `treeish` (a ref, or `<ref>:<path>`: upload-archive
 * serves no bare object ids unless the server allows unreachable ones) that `pathspecs` match, as a tar.
 */
export async function uploadArchive(transport: Transport, treeish: string, pathspecs: readonly string[]): Promise<TarEntry[]> {
  const remote = transport.display;
  if (!transport.uploadArchive) throw new UploadArchiveError(remote, 'the transport cannot run it', false);
  let out: Uint8Array;
  let stderr = '';
  try {
    out = await transport.uploadArchive(uploadArchiveRequest(['--format=tar', treeish, ...pathspecs]));
  } catch (err) {
    if (!(err instanceof GitServiceError)) throw err;
    // git upload-archive exits non-zero after telling the client its archiver died: the reason is in what it sent.
    out = err.stdout;
    stderr = err.stderr;
    parseUploadArchiveResponse(out, remote, stderr);
    throw new UploadArchiveError(remote, stderr.trim() || `exited with code ${String(err.data['exitCode'])}`, true, err);
  }
  return readTar(parseUploadArchiveResponse(out, remote, stderr), `git upload-archive on ${remote}`);
}
