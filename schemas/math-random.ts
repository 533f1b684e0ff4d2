/**
 * Random bytes from Math.random, for what only has to differ from what another writer makes at the same moment,
 * never to stay secret or unguessable: temp-file names (which carry the pid as well) and the random part of a task
 * id (30 bits, so that two nodes dispatching in the same second do not pick the same id; ids are public).
 *
 * Math.random costs nothing to load and is good enough for these: V8 seeds it in every process (isolate) from
 * Node's entropy source, OpenSSL's CSPRNG, so two processes draw independent sequences. The others, measured on
 * Node 20 (issue 14, start-up): node:crypto's randomBytes loads ~15 of Node's own modules (with the crypto binding,
 * ~3-5 ms and ~200 page faults), which every `dispatch` on a local bus paid for these names and ids;
 * globalThis.crypto.getRandomValues loads the same binding and 8 of the same modules (internal/crypto/*), ~3 ms
 * where node:crypto took ~3.3; reading /dev/urandom is an open, a read and a close at each use (~35 µs), on a file
 * Windows does not have. Math.random: ~20 µs for a task id's six bytes, cold, and no system call.
 */
export function mathRandomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

/** `n` random bytes from Math.random as 2n lowercase hex digits (see mathRandomBytes for why not node:crypto). */
export function mathRandomHex(n: number): string {
  let hex = '';
  for (const b of mathRandomBytes(n)) hex += b.toString(16).padStart(2, '0');
  return hex;
}
