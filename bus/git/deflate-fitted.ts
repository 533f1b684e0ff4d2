import { deflateSync } from 'node:zlib';

/**
 * zlib of `bytes` for a git object, with deflate's window and tables sized to the input rather than zlib's default
 * (32 KiB window, `memLevel` 8: ~256 KiB of state, allocated and zeroed for every call). The objects a command
 * writes are mostly a few hundred bytes to a few KiB (a handoff, a tree, a commit); with the default each call cost
 * ~50 page faults and ~1 ms of a `dispatch` (docs/PERFORMANCE.md "Fewer scavenges and page faults"). The stream is
 * the same zlib format (its header names the smaller window, which every inflater, git's included, reads), and the
 * compression is the same: a window of at least the input and deflate's look-ahead reaches every earlier byte, and
 * the symbol buffer (`1 << (memLevel + 6)`) holds the whole input in one block.
 */
export function deflateFitted(bytes: Uint8Array): Buffer {
  const windowBits = Math.min(MAX_WINDOW_BITS, Math.max(MIN_WINDOW_BITS, Math.ceil(Math.log2(bytes.length + MIN_LOOKAHEAD))));
  return deflateSync(bytes, { windowBits, memLevel: Math.min(MAX_MEM_LEVEL, windowBits - 6) });
}

/** zlib's limits: a window of 2^9 to 2^15 bytes (8 is taken as 9), a memLevel of at most 9 (8 is its default). */
const MIN_WINDOW_BITS = 9;
const MAX_WINDOW_BITS = 15;
const MAX_MEM_LEVEL = 8;
/** deflate's MIN_LOOKAHEAD (MAX_MATCH + MIN_MATCH + 1): a match reaches at most the window less this far back. */
const MIN_LOOKAHEAD = 262;
