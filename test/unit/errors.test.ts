import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it, expect } from 'vitest';
import { GitbusError } from '../../schemas/errors.js';
import { redactUrlCredentials } from '../../schemas/url-redact.js';
import { fail, ok } from '../../bus/ops/doctor-check.js';
import * as busErrors from '../../bus/errors.js';
import * as localErrors from '../../bus/local-io.js';
import { exitCodeFor, EXIT } from '../../cli/exit-codes.js';

type Ctor = new (...args: unknown[]) => GitbusError;

/** Arguments that satisfy every constructor's shape well enough to build an instance. */
const OBJ = { service: 'git-upload-pack', remote: '/r', exitCode: 1, signal: null, stderr: 'e', stdout: new Uint8Array(), ref: 'refs/heads/main', kind: 'stale', reason: 'r', messages: '', manager: 'systemd', file: '/u/gitbus-a.service', name: 'gitbus-a', commands: ['systemctl --user daemon-reload'], fix: 'run it again', command: 'systemctl --user start gitbus-a', output: 'failed', written: true, action: 'install', node: 'a', home: '/h', otherHome: '/g' };
const SSH_WHERE = { remote: 'gpu:bus.git', endpoint: 'me@gpu.lan:22', alias: 'gpu', user: 'me', tried: [], serverAccepts: [], knownHostsName: 'gpu.lan', keyType: 'ssh-ed25519', knownKeyType: 'ssh-ed25519', fingerprint: 'SHA256:x', knownHostsFile: '~/.ssh/known_hosts', port: 22, hostName: 'gpu.lan', file: 'f', line: 1 };
const ARGS: unknown[][] = [[SSH_WHERE, 'reason'], [SSH_WHERE], ['file', 3, 'Port', 'is not a number', 'write Port 22'],['a', 'b', 'c', 'd'], ['a', ['b']], ['a', 'b', ['c']], [OBJ], ['a', 1, 2], ['m', {}, undefined], [[{ path: 'p', field: 'f', reason: 'r', fix: 'x', severity: 'error' }]], [1, 'sha256:x', [{ principal: 'a', fingerprint: 'SHA256:x' }]], ['n', false, 'why', 'beat', { card: true, released: ['x.1'] }], ['what', ['status'], 'stderr', 1, 'fix'], ['/h', '/h/watch.lock', null], ['a', [{ runner: 'tmux', binary: 'tmux', fix: 'install tmux' }]], ['/r']];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAYERS = ['schemas', 'bus', 'watcher', 'cli', 'hooks', 'web', 'mcp', 'claude'];

/** Every source file that declares an error class, found by reading the sources, so that a new one is checked too. */
function errorModules(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && /class \w+ extends \w*Error\b/.test(readFileSync(path, 'utf8'))) found.push(path);
    }
  };
  for (const layer of LAYERS) walk(join(ROOT, layer));
  return found;
}

const MODULES = await Promise.all(errorModules().map(async (path) => ({ path: relative(ROOT, path), mod: (await import(pathToFileURL(path).href)) as Record<string, unknown> })));

function instances(): GitbusError[] {
  const out: GitbusError[] = [];
  for (const { path, mod } of MODULES) {
    for (const value of Object.values(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof GitbusError)) continue;
      let made: GitbusError | undefined;
      for (const args of ARGS) {
        try {
          made = new (value as Ctor)(...args);
          if (made.code && typeof made.fix === 'string' && made.fix !== '') break;
        } catch {
          // try the next argument shape
        }
      }
      if (!made) throw new Error(`could not construct ${value.name} (${path}): add an argument shape to ARGS`);
      out.push(made);
    }
  }
  return out;
}

describe('error classes', () => {
  const all = instances();
  it('exist in every layer, each module that declares one read', () => {
    expect(all.length).toBeGreaterThan(80);
    const paths = MODULES.map((m) => m.path.split('/')[0]);
    for (const layer of ['schemas', 'bus', 'watcher', 'cli', 'hooks', 'web', 'claude']) expect(paths, layer).toContain(layer);
  });
  it('each has a stable UPPER_SNAKE code, equal to its name, and a fix', () => {
    for (const e of all) {
      expect(e.code, e.constructor.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.name).toBe(e.code);
      expect(e.fix.length, e.code).toBeGreaterThan(0);
      expect(e.message).toContain('fix:');
    }
  });
  it('codes are unique', () => {
    const codes = all.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
  it('map to documented exit codes; remote failures exit 6', () => {
    for (const e of all) expect(Object.values(EXIT)).toContain(exitCodeFor(e));
    for (const e of all.filter((x) => /^(REMOTE|TRANSPORT|PUSH|FETCH|GIT_SERVICE|LOCAL_REMOTE)/.test(x.code))) expect(exitCodeFor(e), e.code).toBe(EXIT.remote);
    for (const e of all.filter((x) => x.code.startsWith('SSH_') && x.code !== 'SSH_CONFIG_INVALID')) expect(exitCodeFor(e), e.code).toBe(EXIT.remote);
    expect(all.filter((x) => x.code.startsWith('SSH_')).length).toBeGreaterThanOrEqual(9);
    expect(exitCodeFor(new Error('plain'))).toBe(EXIT.error);
    for (const e of all.filter((x) => ['DISK_FULL', 'LOCAL_IO', 'CLONE_DAMAGED'].includes(x.code))) expect(exitCodeFor(e), e.code).toBe(EXIT.local);
    const byCode = (code: string) => all.find((x) => x.code === code);
    // A bad id is a bad value given (exit 2), not a bug (exit 1).
    expect(exitCodeFor(byCode('INVALID_ID'))).toBe(EXIT.usage);
    expect([exitCodeFor(byCode('BASE_NOT_PUSHED')), exitCodeFor(byCode('BASE_NOT_FOUND')), exitCodeFor(byCode('PROJECT_REMOTE_UNREACHABLE'))]).toEqual([EXIT.conflict, EXIT.notFound, EXIT.remote]);
  });
});

describe('URL passwords in errors', () => {
  it('every error shows an http(s) URL with its user part as ***, in the message, the fix and the data', () => {
    const url = 'https://alice:s3cret@host.example/x.git';
    const e = new busErrors.InputError(`--repo ${JSON.stringify(url)} is not valid`, `check git ls-remote ${url}`, { value: url, nested: { urls: [url] } });
    expect(JSON.stringify({ message: e.message, fix: e.fix, data: e.data })).not.toContain('s3cret');
    expect(e.message).toContain('"https://***@host.example/x.git"');
    expect(e.fix).toBe('check git ls-remote https://***@host.example/x.git');
    expect(e.data).toEqual({ value: 'https://***@host.example/x.git', nested: { urls: ['https://***@host.example/x.git'] } });
  });
  it('doctor\'s checks show a node.yaml URL with its password as *** too', () => {
    const c = fail('project.app', 'https://me:s3cret@h/app.git cannot be listed', 'check that "git ls-remote https://me:s3cret@h/app.git" works');
    expect(JSON.stringify(c)).not.toContain('s3cret');
    expect(c.detail).toBe('https://***@h/app.git cannot be listed');
    expect(ok('project.app', 'https://me:s3cret@h/app.git answers').detail).toBe('https://***@h/app.git answers');
    expect(ok('project.hp', 'http://ghp_s3cret@127.0.0.1:8080/app.git answers').detail).toBe('http://***@127.0.0.1:8080/app.git answers');
  });
  it('leaves URLs without credentials as they are; an SSH user name is part of the address', () => {
    for (const url of ['ssh://git@host/x.git', 'http://127.0.0.1:8080/x.git', 'http://[::1]:80/x', 'git@host:x.git', 'file:///srv/x.git']) {
      expect(redactUrlCredentials(`remote ${url} failed`), url).toBe(`remote ${url} failed`);
    }
    expect(redactUrlCredentials('ssh://git:tok@h/x and https://:tok@h/y')).toBe('ssh://git:***@h/x and https://***@h/y');
  });
  it('over http(s) a token goes in the user name as often as in the password: the whole user part is shown as ***, once redacted always the same', () => {
    const text = 'could not fetch https://ghp_T0ken123@github.com/o/p.git nor HTTP://tok@h:8080/x, nor https://alice:pw@h/y, nor https://ghp_T0ken456:x-oauth-basic@github.com/o/q.git, nor https://ghp_T0ken789:@h/z';
    const shown = redactUrlCredentials(text);
    expect(shown).toBe('could not fetch https://***@github.com/o/p.git nor HTTP://***@h:8080/x, nor https://***@h/y, nor https://***@github.com/o/q.git, nor https://***@h/z');
    expect(redactUrlCredentials(shown)).toBe(shown);
    const e = new busErrors.InputError(`the project remote https://ghp_T0ken123@github.com/o/p.git cannot be reached`, 'retry', { url: 'https://ghp_T0ken123@github.com/o/p.git' });
    expect(JSON.stringify({ message: e.message, data: e.data })).not.toContain('ghp_T0ken123');
  });
  it('leaves text around a URL alone: an address after it, a bracket before an @, a path with an @', () => {
    for (const text of ['see https://example.com,bob@example.org', '(https://github.com)@alice', 'https://x.org/a@b', 'https://@host/x', 'mail bob@example.org', '[https://h/x]@y', 'https://h|z@w']) {
      expect(redactUrlCredentials(text), text).toBe(text);
    }
  });
});

describe('failures of the machine', () => {
  const sysError = (code: string, path?: string) => Object.assign(new Error(`${code}: something, write`), { code, syscall: 'write', ...(path ? { path } : {}) });
  it('a full disk or quota is DISK_FULL naming the path (or the home when the call had none), exit 10', () => {
    const e = localErrors.localFailure(sysError('ENOSPC', '/h/clone.git/objects/ab/tmp'), '/h');
    expect(e?.code).toBe('DISK_FULL');
    expect(e?.message).toContain('/h/clone.git/objects/ab/tmp');
    expect(localErrors.localFailure(sysError('EDQUOT'), '/h')?.message).toContain('/h');
    expect(exitCodeFor(e)).toBe(10);
  });
  it('EIO, EROFS and EACCES on a path are LOCAL_IO; wrapped causes count; other errors are left alone', () => {
    expect(localErrors.localFailure(sysError('EROFS', '/h/node.yaml'))?.code).toBe('LOCAL_IO');
    expect(localErrors.localFailure(new Error('wrapped', { cause: sysError('EIO', '/h/x') }))?.code).toBe('LOCAL_IO');
    // A network EACCES has no path: not a local failure.
    expect(localErrors.localFailure(sysError('EACCES'))).toBeNull();
    expect(localErrors.localFailure(new Error('plain'))).toBeNull();
  });
});
