import { nodeCrypto } from '../../schemas/node-crypto.js';
import { deflateObject } from './object-deflate.js';

const TYPE_CODE = { commit: 1, tree: 2, blob: 3, tag: 4 } as const;

/**
 * A version-2 pack of whole (undeltified) objects held in memory. A push sends only the handful of objects one
 * commit created, so deltas would save nothing; building it here avoids re-reading and re-deflating them
 * through isomorphic-git.
 */
export function writePack(objects: readonly { type: keyof typeof TYPE_CODE; content: Uint8Array }[]): Uint8Array {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  parts.push(head);
  for (const o of objects) {
    let size = o.content.length;
    const bytes: number[] = [];
    let byte = (TYPE_CODE[o.type] << 4) | (size & 0x0f);
    size >>>= 4;
    while (size > 0) {
      bytes.push(byte | 0x80);
      byte = size & 0x7f;
      size >>>= 7;
    }
    bytes.push(byte);
    parts.push(Buffer.from(bytes), deflateObject(o.content));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, nodeCrypto().createHash('sha1').update(body).digest()]);
}
