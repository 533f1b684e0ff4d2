import { describe, expect, it } from 'vitest';
import { readFailure } from '../../cli/read-failure.js';

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('why a file on the command line could not be read', () => {
  it('says it in words for the failures a person makes, and keeps the errno of a read that failed midway', () => {
    expect(readFailure('missing.jsonl', errno('ENOENT', "ENOENT: no such file or directory, stat 'missing.jsonl'"))).toBe('missing.jsonl does not exist');
    expect(readFailure('/tmp', errno('EISDIR', 'EISDIR: illegal operation on a directory, read'))).toBe('/tmp is a folder, not a file');
    expect(readFailure('a/b', errno('ENOTDIR', 'ENOTDIR'))).toBe('a part of the path a/b is not a folder');
    expect(readFailure('secret', errno('EACCES', 'EACCES'))).toBe('secret may not be read by this user (permission denied)');
    expect(readFailure('-', errno('ECONNRESET', 'read ECONNRESET'), 'the batch from standard input')).toBe('cannot read the batch from standard input: read ECONNRESET');
    expect(readFailure('-', errno('ENOENT', 'x'))).toBe('standard input does not exist');
    expect(readFailure('', errno('ENOENT', 'x'))).toBe('the empty file name "" does not exist');
  });
});
