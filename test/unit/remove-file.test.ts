import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeFile } from '../../bus/remove-file.js';

describe('removeFile (fs.rmSync with force, for a file, without Node loading its rimraf)', () => {
  it('removes a file, does nothing for one that is gone, and throws for a folder or a path through a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-remove-'));
    const file = join(dir, 'lock');
    writeFileSync(file, 'x');
    removeFile(file);
    expect(existsSync(file)).toBe(false);
    expect(() => removeFile(file)).not.toThrow();
    mkdirSync(join(dir, 'folder'));
    expect(() => removeFile(join(dir, 'folder'))).toThrow();
    expect(existsSync(join(dir, 'folder'))).toBe(true);
    writeFileSync(file, 'x');
    expect(() => removeFile(join(file, 'below'))).toThrow(/ENOTDIR/);
  });
});
