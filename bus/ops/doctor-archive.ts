import { firstLine } from '../../schemas/errors.js';
import { advertisedCapabilities, servesPathReads } from '../archive/capabilities.js';
import { uploadArchive, UploadArchiveError } from '../git/upload-archive.js';
import type { Transport } from '../transport/transport.js';
import { fail, ok, warn, type Check } from './doctor-check.js';

/**
 * `remote.archive-reads`: how a node reads one archived task the first time (docs/PROTOCOL.md §7): in one
 * `git upload-archive` exchange where the host runs it; else by its path through upload-pack (an object filter and
 * wants of any object, a few exchanges); else by fetching the archive's whole tip.
 */
export async function checkArchiveReads(transport: Transport): Promise<Check> {
  const name = 'remote.archive-reads';
  let caps: Set<string>;
  try {
    caps = advertisedCapabilities(await transport.advertise('git-upload-pack'));
  } catch (err) {
    return fail(name, `could not read the remote's capabilities: ${firstLine(err)}`, 'check that the remote is reachable (remote.reachable)');
  }
  const archive = await runsUploadArchive(transport);
  const paths = servesPathReads(caps);
  if (archive === true) {
    return ok(name, `the remote runs git upload-archive: the first lookup of an archived task is one exchange${paths ? '' : " (ids its index lacks fetch the archive's whole tip: uploadpack.allowFilter and uploadpack.allowAnySHA1InWant are off)"}`);
  }
  const why = archive === false ? 'the host does not run git upload-archive (as GitHub and HTTP hosts do not)' : `git upload-archive failed: ${archive}`;
  if (paths) return ok(name, `the remote serves single archived tasks by path (filter, any-object wants), a few exchanges each the first time; ${why}`);
  const missing = [!caps.has('filter') ? 'uploadpack.allowFilter' : null, !caps.has('allow-any-sha1-in-want') && !caps.has('allow-reachable-sha1-in-want') ? 'uploadpack.allowAnySHA1InWant' : null].filter(Boolean);
  return warn(
    name,
    `the remote does not allow ${missing.join(' and ')}, and ${why}: the first lookup of an archived task on each node fetches the archive's whole tip (every archived task, depth 1)`,
    `in the bare repository on the server: ${missing.map((m) => `git config ${String(m)} true`).join('; ')}`,
  );
}

/** True when the host ran `git upload-archive` for main's settings file; false when it does not run it; else why it failed. */
async function runsUploadArchive(transport: Transport): Promise<true | false | string> {
  if (!transport.uploadArchive) return false;
  try {
    await uploadArchive(transport, 'refs/heads/main', ['gitbus.yaml']);
    return true;
  } catch (err) {
    if (err instanceof UploadArchiveError) return err.served ? err.said : false;
    return firstLine(err);
  }
}
