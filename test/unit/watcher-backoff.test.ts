import { describe, expect, it } from 'vitest';
import { MAX_RETRY_MS, retryDelay, retryPolicy } from '../../watcher/backoff.js';
import { remoteFailureCode } from '../../bus/remote-failure.js';
import { GitServiceError, RemoteAuthError, RemoteNotFoundError, RemoteUnreachableError, TransportTimeoutError } from '../../bus/transport/errors.js';
import { ContentionError, LockTimeoutError, NothingClaimableError } from '../../bus/errors.js';

describe('retryPolicy', () => {
  it('starts at the poll interval (at least 1 s) and stops at ten of them, at most 5 minutes', () => {
    expect(retryPolicy(30_000)).toEqual({ firstMs: 30_000, maxMs: MAX_RETRY_MS });
    expect(retryPolicy(1_000)).toEqual({ firstMs: 1_000, maxMs: 10_000 });
    expect(retryPolicy(200)).toEqual({ firstMs: 1_000, maxMs: 2_000 });
    // A poll slower than the cap: never wait less than one poll.
    expect(retryPolicy(10 * 60_000)).toEqual({ firstMs: 10 * 60_000, maxMs: 10 * 60_000 });
    expect(retryPolicy(1_000, 250, 4_000)).toEqual({ firstMs: 250, maxMs: 4_000 });
    expect(retryPolicy(1_000, 8_000, 4_000)).toEqual({ firstMs: 8_000, maxMs: 8_000 });
  });
});

describe('retryDelay', () => {
  const policy = { firstMs: 500, maxMs: 4_000 };
  it('doubles per failure up to the cap, jittered below each step', () => {
    const top = (n: number) => retryDelay(policy, n, () => 1 - Number.EPSILON);
    const bottom = (n: number) => retryDelay(policy, n, () => 0);
    expect([1, 2, 3, 4, 5, 50].map(top)).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect([1, 2, 3, 4, 5].map(bottom)).toEqual([375, 750, 1_500, 3_000, 3_000]);
    // Strictly growing until the cap whatever the draws: the lowest next wait is above the highest last one.
    for (let n = 1; n < 4; n++) expect(bottom(n + 1)).toBeGreaterThan(top(n));
  });
});

describe('remoteFailureCode', () => {
  it('names the failures of the remote or the way to it, and nothing else', () => {
    expect(remoteFailureCode(new RemoteUnreachableError('https://h/bus.git', 'ECONNREFUSED'))).toBe('REMOTE_UNREACHABLE');
    expect(remoteFailureCode(new RemoteNotFoundError('/srv/bus.git'))).toBe('REMOTE_NOT_FOUND');
    expect(remoteFailureCode(new RemoteAuthError('https://h/bus.git', 401, true, undefined))).toBe('REMOTE_AUTH_FAILED');
    expect(remoteFailureCode(new TransportTimeoutError('the ref advertisement', 'https://h/bus.git', 1000))).toBe('TRANSPORT_TIMEOUT');
    expect(remoteFailureCode(new GitServiceError({ service: 'git-upload-pack', remote: '/srv/bus.git', exitCode: 128, signal: null, stderr: '', stdout: new Uint8Array() }))).toBe('GIT_SERVICE_FAILED');
    expect(remoteFailureCode(Object.assign(new Error('x'), { code: 'SSH_CONNECTION_FAILED' }))).toBe('SSH_CONNECTION_FAILED');
    expect(remoteFailureCode(new NothingClaimableError('n', 0))).toBeNull();
    expect(remoteFailureCode(new ContentionError('claim', 3, 100))).toBeNull();
    expect(remoteFailureCode(new LockTimeoutError('/h/clone.lock', 'pid 1', 30_000))).toBeNull();
    expect(remoteFailureCode(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBeNull();
    expect(remoteFailureCode(new Error('plain'))).toBeNull();
    expect(remoteFailureCode(undefined)).toBeNull();
    expect(remoteFailureCode('REMOTE_UNREACHABLE')).toBeNull();
  });
});
