import { nodeCrypto } from '../../schemas/node-crypto.js';

/**
 * The frame the node's cache files share (the parse cache, the status digests): a magic line, one JSON header line
 * that names the build and the payloads' lengths and sha256s, then the payloads. Pure.
 */

/** A file: `magic`, the header as one JSON line, the payloads. */
export function frame(magic: string, header: object, payloads: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`${magic}${JSON.stringify(header)}\n`, 'utf8'), ...payloads]);
}

/** The header line after `magic` and where the payloads start; null when the file is not framed so (a foreign file). */
export function readHeaderLine(bytes: Buffer, magic: string): { header: Record<string, unknown>; at: number } | null {
  if (bytes.length < magic.length || bytes.toString('utf8', 0, magic.length) !== magic) return null;
  const nl = bytes.indexOf(0x0a, magic.length);
  if (nl < 0 || nl - magic.length > 4096) return null;
  const header = JSON.parse(bytes.toString('utf8', magic.length, nl)) as unknown;
  if (!header || typeof header !== 'object' || Array.isArray(header)) return null;
  return { header: header as Record<string, unknown>, at: nl + 1 };
}

export function sha256(b: Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(b).digest('hex');
}
