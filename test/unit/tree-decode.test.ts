import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { decodeTree, encodeTree } from '../../bus/store/encode.js';
import type { TreeEntry } from '../../bus/store/objects.js';

/** The per-entry decoder decodeTree replaced (three Buffer calls an entry): the reference it must agree with. */
function reference(content: Uint8Array): TreeEntry[] {
  const buf = Buffer.from(content);
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, space);
    const mode = buf.toString('latin1', i, space).padStart(6, '0');
    out.push({ mode, path: buf.toString('utf8', space + 1, nul), oid: buf.toString('hex', nul + 1, nul + 21), type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
    i = nul + 21;
  }
  return out;
}

const oid = (s: string) => createHash('sha1').update(s).digest('hex');

describe('decodeTree', () => {
  it('agrees with a per-entry decoder on a big folder, every mode, names with spaces and UTF-8, and oids holding 0x00 and 0x20 bytes', () => {
    const entries: TreeEntry[] = [];
    for (let i = 0; i < 3000; i++) entries.push({ mode: '100644', path: `task-${String(i).padStart(5, '0')}.md`, oid: oid(String(i)), type: 'blob' });
    entries.push(
      { mode: '040000', path: 'sub', oid: oid('sub'), type: 'tree' },
      { mode: '100755', path: 'run me.sh', oid: oid('x'), type: 'blob' },
      { mode: '120000', path: 'link', oid: oid('l'), type: 'blob' },
      { mode: '160000', path: 'module', oid: oid('m'), type: 'commit' },
      { mode: '100644', path: 'tâche-é.md', oid: `00${'20'.repeat(9)}ff${'00'.repeat(9)}`, type: 'blob' },
      { mode: '100644', path: '日本語.md', oid: '20'.repeat(20), type: 'blob' },
    );
    const bytes = encodeTree(entries);
    const decoded = decodeTree(bytes);
    expect(decoded).toEqual(reference(bytes));
    expect(decoded).toHaveLength(entries.length);
    expect(decoded.find((e) => e.path === 'tâche-é.md')?.oid).toBe(`00${'20'.repeat(9)}ff${'00'.repeat(9)}`);
    expect(decoded.find((e) => e.path === 'sub')).toEqual({ mode: '040000', path: 'sub', oid: oid('sub'), type: 'tree' });
    // A round trip gives the same bytes.
    expect(Buffer.from(encodeTree(decoded)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('reads a tree from inside a larger buffer, and refuses one cut short', () => {
    const bytes = Buffer.from(encodeTree([{ mode: '100644', path: 'a.md', oid: oid('a'), type: 'blob' }]));
    const framed = Buffer.concat([Buffer.from('junk'), bytes, Buffer.from('tail')]);
    expect(decodeTree(framed.subarray(4, 4 + bytes.length))).toEqual(reference(bytes));
    expect(() => decodeTree(bytes.subarray(0, bytes.length - 1))).toThrow('corrupt tree object');
    expect(() => decodeTree(Buffer.from('100644 no-nul'))).toThrow('corrupt tree object');
    expect(decodeTree(new Uint8Array(0))).toEqual([]);
  });
});
