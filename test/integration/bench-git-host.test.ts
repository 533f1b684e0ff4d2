import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHost, type GitHost } from '../../bench/git-host.js';

const git = (gitdir: string, ...args: string[]) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' }).trim();

// The fleet bench's host answers ref listings from the ref files (bench/git-host-refs.ts); what it measures is
// only worth as much as that answer is git's own.
describe('the fleet bench host', () => {
  let root: string;
  let host: GitHost;
  let gitdir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gitbus-bench-host-'));
    gitdir = join(root, 'bus.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', gitdir]);
    const tree = git(gitdir, 'mktree');
    const c1 = execFileSync('git', ['--git-dir', gitdir, 'commit-tree', '-m', 'one', tree], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
    const c2 = execFileSync('git', ['--git-dir', gitdir, 'commit-tree', '-p', c1, '-m', 'two', tree], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
    git(gitdir, 'update-ref', 'refs/heads/main', c1);
    git(gitdir, 'update-ref', 'refs/gitbus/heartbeat/a', c1);
    git(gitdir, 'update-ref', 'refs/heads/archive', c1);
    git(gitdir, 'pack-refs', '--all');
    // Loose over packed: main moves after packing, and a ref that exists loose only.
    git(gitdir, 'update-ref', 'refs/heads/main', c2);
    git(gitdir, 'update-ref', 'refs/gitbus/heartbeat/b', c2);
    host = await startGitHost(root, { listingsInProcess: true });
  });

  afterAll(async () => {
    await host?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const listing = async () => {
    const res = await fetch(`${host.url}/bus.git/info/refs?service=git-upload-pack`);
    return { type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()).toString('latin1') };
  };

  it('answers a ref listing from the ref files exactly as git http-backend does (packed and loose refs, HEAD)', async () => {
    const first = await listing(); // http-backend's, which the host keeps the capabilities of
    const second = await listing(); // the host's own
    expect(first.type).toBe('application/x-git-upload-pack-advertisement');
    expect(second).toEqual(first);
    expect(second.body).toContain(' refs/gitbus/heartbeat/b\n');
    expect(host.log.map((r) => r.kind)).toEqual(['list', 'list']);
  });

  it('sees a ref moved since its last answer', async () => {
    const before = await listing();
    git(gitdir, 'update-ref', 'refs/heads/main', git(gitdir, 'rev-parse', 'refs/heads/main~1'));
    git(gitdir, 'update-ref', '-d', 'refs/gitbus/heartbeat/a');
    const after = await listing();
    expect(after.body).not.toEqual(before.body);
    expect(after.body).not.toContain('heartbeat/a');
    const backend = execFileSync('git', ['http-backend'], { env: { ...process.env, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', REQUEST_METHOD: 'GET', QUERY_STRING: 'service=git-upload-pack', PATH_INFO: '/bus.git/info/refs' } }).toString('latin1');
    expect(backend.slice(backend.indexOf('\r\n\r\n') + 4)).toEqual(after.body);
  });

  it('speaks protocol v2 to a client that asks for it, as a hosting service does: a listing scoped by ref prefix, logged as listings', async () => {
    const before = host.log.length;
    // Not execFileSync: the host answers from this process's event loop.
    const r = await promisify(execFile)('git', ['ls-remote', '--heads', `${host.url}/bus.git`], { env: { ...process.env, GIT_TRACE_PACKET: '1' } });
    expect(r.stdout.trim().split('\n').map((l) => l.split('\t')[1])).toEqual(['refs/heads/archive', 'refs/heads/main']);
    expect(r.stderr).toContain('version 2');
    expect(r.stderr).toContain('ref-prefix refs/heads/');
    expect(r.stderr).not.toContain('refs/gitbus/heartbeat');
    // The capabilities (GET) and the ls-refs command (POST): both listings, no fetch.
    expect(host.log.slice(before).map((l) => l.kind)).toEqual(['list', 'list']);
  });
});
