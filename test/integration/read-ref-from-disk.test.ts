import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRefFromDisk, readRefsFromDisk } from '../../bus/transport/read-refs.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** A repository's ref files as git writes them: loose refs under refs/, and packed-refs. */
function repo(loose: Record<string, string>, packed: Record<string, string> = {}): { gitdir: string; done: () => void } {
  const gitdir = mkdtempSync(join(tmpdir(), 'gitbus-read-ref-'));
  writeFileSync(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
  for (const [ref, value] of Object.entries(loose)) {
    mkdirSync(join(gitdir, ref, '..'), { recursive: true });
    writeFileSync(join(gitdir, ref), `${value}\n`);
  }
  if (Object.keys(packed).length > 0) writeFileSync(join(gitdir, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted \n${Object.entries(packed).map(([ref, oid]) => `${oid} ${ref}\n`).join('')}`);
  return { gitdir, done: () => rmSync(gitdir, { recursive: true, force: true }) };
}

describe('one ref read from a repository\'s files, as the listing of all of them would give it', () => {
  it('the loose file before packed-refs, packed-refs when there is none, and nothing for a ref neither holds', async () => {
    const r = repo({ 'refs/heads/main': A, 'refs/gitbus/heartbeats/n1': C }, { 'refs/heads/main': B, 'refs/heads/archive': B });
    try {
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/main')).toBe(A);
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/archive')).toBe(B);
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/other')).toBeUndefined();
      const all = await readRefsFromDisk(r.gitdir);
      for (const ref of ['refs/heads/main', 'refs/heads/archive', 'refs/gitbus/heartbeats/n1', 'refs/heads/other']) expect(await readRefFromDisk(r.gitdir, ref)).toBe(all.get(ref));
    } finally {
      r.done();
    }
  });

  it('a symbolic ref is followed as the listing follows it; junk in a loose file leaves the packed value', async () => {
    const r = repo({ 'refs/heads/main': 'ref: refs/heads/trunk', 'refs/heads/trunk': A, 'refs/heads/junk': 'not a ref' }, { 'refs/heads/junk': B });
    try {
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/main')).toBe(A);
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/junk')).toBe(B);
    } finally {
      r.done();
    }
  });

  it('a ref that is a link, or under a folder that is one, is what the listing (which follows no link) says', async () => {
    const r = repo({ 'refs/heads/real': A, 'elsewhere/heads/main': C }, { 'refs/heads/main': B, 'refs/linked/x': B });
    try {
      symlinkSync(join(r.gitdir, 'refs', 'heads', 'real'), join(r.gitdir, 'refs', 'heads', 'main'));
      symlinkSync(join(r.gitdir, 'elsewhere', 'heads'), join(r.gitdir, 'refs', 'linked'));
      writeFileSync(join(r.gitdir, 'elsewhere', 'heads', 'x'), `${C}\n`);
      const all = await readRefsFromDisk(r.gitdir);
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/main')).toBe(all.get('refs/heads/main'));
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/main')).toBe(B);
      expect(await readRefFromDisk(r.gitdir, 'refs/linked/x')).toBe(all.get('refs/linked/x'));
      expect(await readRefFromDisk(r.gitdir, 'refs/linked/x')).toBe(B);
    } finally {
      r.done();
    }
  });

  it('a file where a folder of the ref\'s path should be, or a folder where its file should be, is no ref', async () => {
    const r = repo({ 'refs/gitbus': A, 'refs/heads/main/x': B });
    try {
      expect(await readRefFromDisk(r.gitdir, 'refs/gitbus/heartbeats/n1')).toBeUndefined();
      expect(await readRefFromDisk(r.gitdir, 'refs/heads/main')).toBeUndefined();
    } finally {
      r.done();
    }
  });
});
