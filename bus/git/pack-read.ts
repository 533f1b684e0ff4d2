import { nodeZlib } from '../../schemas/node-zlib.js';
import { gitObjectId, type GitObjectType } from './loose-object.js';
import { PackReadError } from './errors.js';

const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

export interface PackObject {
  oid: string;
  type: GitObjectType;
  content: Buffer;
}

/** zlib's count of input bytes consumed, which inflateSync reports with `info: true` (not in @types/node). */
interface InflateInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/**
 * Every object of a self-contained version 2 or 3 pack (as a fetch without thin-pack receives it), read once, in
 * order, with its oid: whole objects as they are, ofs-deltas and ref-deltas applied to bases in the same pack.
 * For exploding a fetched pack into loose objects without indexing it first and looking each object up again
 * (bus/git/explode-pack.ts). The pack's checksum is the caller's to verify; this checks the object count, the
 * sizes the headers state, and that every delta's base is there. Holds the pack's objects in memory: for the live
 * tree of a bus, not for a history.
 */
export function readPackObjects(pack: Uint8Array, where = '<pack>'): PackObject[] {
  const b = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  const fail = (why: string): never => {
    throw new PackReadError(where, why);
  };
  if (b.length < 32 || b.toString('latin1', 0, 4) !== 'PACK') fail('no PACK signature');
  const version = b.readUInt32BE(4);
  if (version !== 2 && version !== 3) fail(`unsupported pack version ${version}`);
  const count = b.readUInt32BE(8);
  const end = b.length - 20;
  const byOffset = new Map<number, PackObject>();
  const byOid = new Map<string, PackObject>();
  const out: PackObject[] = [];
  /** Ref-deltas whose base comes later in the pack: resolved once everything else is read. */
  let waiting: { base: string; delta: Buffer; at: number }[] = [];
  const add = (at: number, type: GitObjectType, content: Buffer): void => {
    const oid = gitObjectId(type, content);
    const obj = { oid, type, content };
    byOffset.set(at, obj);
    byOid.set(oid, obj);
    out.push(obj);
  };
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos >= end) fail(`${count} objects announced, ${i} found`);
    const at = pos;
    let byte = b[pos++] ?? 0;
    const code = (byte >> 4) & 7;
    let size = byte & 0x0f;
    let shift = 4;
    while (byte & 0x80) {
      byte = b[pos++] ?? fail('header cut short');
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let baseAt: number | undefined;
    let baseOid: string | undefined;
    if (code === OFS_DELTA) {
      byte = b[pos++] ?? fail('offset cut short');
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = b[pos++] ?? fail('offset cut short');
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      baseAt = at - back;
    } else if (code === REF_DELTA) {
      if (pos + 20 > end) fail('base id cut short');
      baseOid = b.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!TYPES[code]) {
      fail(`object ${i} at ${at} has the unknown type ${code}`);
    }
    let inflated: InflateInfo;
    try {
      inflated = (nodeZlib().inflateSync as unknown as (buf: Buffer, opts: object) => InflateInfo)(b.subarray(pos, end), { info: true });
    } catch (err) {
      return fail(`object ${i} at ${at} does not inflate: ${(err as Error).message}`);
    }
    pos += inflated.engine.bytesWritten;
    const data = inflated.buffer;
    if (data.length !== size) fail(`object ${i} at ${at} states ${size} bytes and holds ${data.length}`);
    const type = TYPES[code];
    if (type) {
      add(at, type, data);
    } else if (baseAt !== undefined) {
      const base = byOffset.get(baseAt) ?? fail(`the delta at ${at} names a base at ${baseAt} that is not an object of the pack`);
      add(at, base.type, applyDelta(base.content, data, fail));
    } else if (baseOid !== undefined) {
      const base = byOid.get(baseOid);
      if (base) add(at, base.type, applyDelta(base.content, data, fail));
      else waiting.push({ base: baseOid, delta: data, at });
    }
  }
  if (pos !== end) fail(`${end - pos} bytes after the last object`);
  while (waiting.length > 0) {
    const left = waiting.filter((w) => {
      const base = byOid.get(w.base);
      if (!base) return true;
      add(w.at, base.type, applyDelta(base.content, w.delta, fail));
      return false;
    });
    if (left.length === waiting.length) fail(`a delta's base ${left[0]?.base} is not in the pack (a thin pack?)`);
    waiting = left;
  }
  return out;
}

/** git's delta format: source size, target size (varints), then copy (from the source) and insert instructions. */
export function applyDelta(source: Buffer, delta: Buffer, fail: (why: string) => never): Buffer {
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[pos++] ?? fail('delta header cut short');
      n += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return n;
  };
  if (varint() !== source.length) fail('a delta was made against another base (source size differs)');
  const size = varint();
  const target = Buffer.allocUnsafe(size);
  let out = 0;
  while (pos < delta.length) {
    const op = delta[pos++] ?? 0;
    if (op & 0x80) {
      let offset = 0;
      let length = 0;
      for (let k = 0; k < 4; k++) if (op & (1 << k)) offset += (delta[pos++] ?? fail('copy cut short')) * 2 ** (8 * k);
      for (let k = 0; k < 3; k++) if (op & (1 << (4 + k))) length += (delta[pos++] ?? fail('copy cut short')) * 2 ** (8 * k);
      if (length === 0) length = 0x10000;
      if (offset + length > source.length || out + length > size) fail('a delta copies past the end');
      source.copy(target, out, offset, offset + length);
      out += length;
    } else if (op > 0) {
      if (pos + op > delta.length || out + op > size) fail('a delta inserts past the end');
      delta.copy(target, out, pos, pos + op);
      pos += op;
      out += op;
    } else {
      fail('a delta has the reserved instruction 0');
    }
  }
  if (out !== size) fail(`a delta built ${out} bytes of ${size}`);
  return target;
}
