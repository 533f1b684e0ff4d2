import { describe, expect, it } from 'vitest';
import { QUIET_MS, REMIND_MS, standingProblems } from '../../watcher/standing-problems.js';
import { CloneDamagedError, DiskFullError, LocalIoError } from '../../bus/local-io.js';

/**
 * The watcher says a failure of its own disk once, not at every wake (a wake may come every second), and again every
 * REMIND_MS while it lasts (watcher/standing-problems.ts).
 */
describe('a failure of the node’s own disk, said by the watcher', () => {
  it('is said once for every file a full disk fails, and again after REMIND_MS', () => {
    let t = 0;
    const standing = standingProblems('/home/n', () => t);
    expect(standing.repeated(new DiskFullError('/home/n/clone.git/objects/ab/tmp_obj_1', 'open'))).toBe(false);
    t = 1_000;
    // Another temp file of the same full disk: the same problem.
    expect(standing.repeated(new DiskFullError('/home/n/clone.git/objects/cd/tmp_obj_2', 'open'))).toBe(true);
    // Met at every wake meanwhile (here every 30 s): still the same problem.
    for (t = 30_000; t < REMIND_MS; t += 30_000) expect(standing.repeated(new DiskFullError('/home/n/outbox/x.tmp', 'write')), String(t)).toBe(true);
    t = REMIND_MS - 1;
    expect(standing.repeated(new DiskFullError('/home/n/outbox/x.tmp', 'write'))).toBe(true);
    t = REMIND_MS;
    expect(standing.repeated(new DiskFullError('/home/n/outbox/x.tmp', 'write'))).toBe(false);
    t = REMIND_MS + 1;
    expect(standing.repeated(new DiskFullError('/home/n/outbox/x.tmp', 'write'))).toBe(true);
  });

  it('tells LOCAL_IO failures apart by their errno and the home’s folder, and clone failures by what they say', () => {
    const standing = standingProblems('/h', () => 0);
    expect(standing.repeated(new LocalIoError('/h/clone.git/objects/ab/tmp', 'open', 'EROFS', 'EROFS'))).toBe(false);
    expect(standing.repeated(new LocalIoError('/h/clone.git/shallow.lock', 'unlink', 'EROFS', 'EROFS'))).toBe(true);
    expect(standing.repeated(new LocalIoError('/h/logs/x.log', 'open', 'EIO', 'i/o error'))).toBe(false);
    // The same errno in another folder of the home is another problem (its own fix); in the same folder, the same.
    expect(standing.repeated(new LocalIoError('/h/outbox/r.json', 'open', 'EROFS', 'EROFS'))).toBe(false);
    expect(standing.repeated(new LocalIoError('/h/outbox/s.json', 'open', 'EROFS', 'EROFS'))).toBe(true);
    const gone = new CloneDamagedError('/h/clone.git', '(none)', 'the clone is missing or not a git directory', 'ENOSPC');
    expect(standing.repeated(gone)).toBe(false);
    expect(standing.repeated(gone)).toBe(true);
    expect(standing.repeated(new CloneDamagedError('/h/clone.git', 'abc', 'missing'))).toBe(false);
  });

  it('takes one not met for QUIET_MS as mended, and says it at once when it comes back', () => {
    let t = 0;
    const standing = standingProblems('/h', () => t);
    const readOnly = () => new LocalIoError('/h/logs/x.log', 'open', 'EROFS', 'EROFS');
    expect(standing.repeated(readOnly())).toBe(false);
    t = QUIET_MS - 1;
    expect(standing.repeated(readOnly())).toBe(true);
    // A quiet spell, counted from when it was last met: mended, so back is news.
    t = 2 * QUIET_MS - 1;
    expect(standing.repeated(readOnly())).toBe(false);
    t += 1_000;
    expect(standing.repeated(readOnly())).toBe(true);
  });

  it('leaves every other error to be said each time', () => {
    const standing = standingProblems('/h', () => 0);
    const other = Object.assign(new Error('the remote refused'), { code: 'REMOTE_UNREACHABLE' });
    expect(standing.repeated(other)).toBe(false);
    expect(standing.repeated(other)).toBe(false);
  });
});
