import { firstLine } from '../../schemas/errors.js';
import { advertisedCapabilities, servesPathReads } from '../archive/capabilities.js';
import type { Transport } from '../transport/transport.js';
import { fail, ok, warn, type Check } from './doctor-check.js';

/**
 * `remote.archive-reads`: whether the remote lets a node read one archived task by its path (an object filter and
 * wants of any object), or makes it fetch the archive's whole tip the first time (docs/PROTOCOL.md §7).
 */
export async function checkArchiveReads(transport: Transport): Promise<Check> {
  const name = 'remote.archive-reads';
  let caps: Set<string>;
  try {
    caps = advertisedCapabilities(await transport.advertise('git-upload-pack'));
  } catch (err) {
    return fail(name, `could not read the remote's capabilities: ${firstLine(err)}`, 'check that the remote is reachable (remote.reachable)');
  }
  if (servesPathReads(caps)) return ok(name, 'the remote serves single archived tasks by path (filter, any-object wants)');
  const missing = [!caps.has('filter') ? 'uploadpack.allowFilter' : null, !caps.has('allow-any-sha1-in-want') && !caps.has('allow-reachable-sha1-in-want') ? 'uploadpack.allowAnySHA1InWant' : null].filter(Boolean);
  return warn(
    name,
    `the remote does not allow ${missing.join(' and ')}: the first lookup of an archived task on each node fetches the archive's whole tip (every archived task, depth 1)`,
    `in the bare repository on the server: ${missing.map((m) => `git config ${String(m)} true`).join('; ')}`,
  );
}
