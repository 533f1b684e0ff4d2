import { nodeZlib } from '../../schemas/node-zlib.js';
import { deflateStored } from './zlib-stored.js';
import type { GitObjectType } from './loose-object.js';

/**
 * zlib of `bytes` for a git object. Up to STORED_MAX bytes (a tree: TREE_STORED_MAX) it is stored, not compressed
 * (bus/git/zlib-stored.ts): what a command writes is mostly a few hundred bytes to a few KiB (a handoff, a tree, a commit), which deflate
 * shrinks by a third at best (a tree is mostly object ids), and storing them keeps node:zlib out of the command
 * (docs/PERFORMANCE.md "Small objects stored, and a start without node:zlib"). Larger objects are deflated with
 * zlib's defaults, as git does. Either way it is the zlib format every reader, git's included, inflates.
 *
 * Small objects were deflated with the window and tables sized to the input before (zlib's default state is ~256
 * KiB, allocated and zeroed for every call: ~50 page faults, "Fewer scavenges and page faults"); from STORED_MAX
 * bytes on, the window that reaches every earlier byte is zlib's default anyway.
 */
export function deflateObject(bytes: Uint8Array, type?: GitObjectType): Buffer {
  return bytes.length <= storedMax(type) ? deflateStored(bytes) : nodeZlib().deflateSync(bytes);
}

/** The largest object of `type` written stored (a pack's objects, `type` not given, go by STORED_MAX). */
export function storedMax(type?: GitObjectType): number {
  return type === 'tree' ? TREE_STORED_MAX : STORED_MAX;
}

/**
 * The largest object written stored: a tree of ~300 tasks, a handoff with a long body. Past it deflate's savings are
 * worth node:zlib's load, and summing the checksum here (~15 ns a byte in a process that just started) would not be.
 */
export const STORED_MAX = 16 * 1024;

/**
 * The largest tree written stored: a folder of ~1,200 tasks. Every command reads the live folders' trees, and a
 * bus of 300 tasks was a dispatch 3.6 ms dearer than one of 250, node:zlib loaded to write and read its handoffs
 * tree (issue 14: "no command may cost more as the bus grows"). Trees are mostly object ids, which do not compress:
 * deflate halves one at best, and a loose tree is replaced at the next change of its folder (the remote's packs,
 * which `git gc` makes, store trees as deltas of each other).
 */
export const TREE_STORED_MAX = 64 * 1024;
