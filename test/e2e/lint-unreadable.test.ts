import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, json, spawnBounded, tempDir, type RunResult } from '../helpers/cli.js';

/**
 * `gitbus lint PATH` on a checkout with a path the user running it may not look at, made so by real permissions:
 * only a path that is not there is absent; one lint cannot see ends it with LINT_UNREADABLE (exit 10) naming the
 * path, the cause and the fix, as an unreadable file of its walks does, never a report that leaves the path out.
 *
 * Root is denied nothing by a mode, so as root the CLI runs as a uid of no account (setpriv), as in
 * cli-startup-odd.test.ts; as any other user it runs as that user.
 */
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canDeny = !isRoot || existsSync('/usr/bin/setpriv');
/** Said in the name of each permission case when it cannot be made here (never in CI, where it fails instead). */
const unless = canDeny ? '' : ' (skipped: this runs as root and has no /usr/bin/setpriv to run lint as another user)';
const OTHER_UID = 12345;
const SIG = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';
const TAG = '0123456789abcdef';

type Failure = { error: { code: string; message: string; fix: string; data: { path: string; errno: string } } };
type Report = { problems: { path: string; reason: string; severity: string }[]; errors: number };

describe('gitbus lint PATH on paths it may not look at', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let co: string;
  /** Folders and files whose modes a test took away, given back before the next test (and the clean-up). */
  const restore: [string, number][] = [];

  beforeAll(async () => {
    // Permission cases that cannot be made are a failure in CI, never a silent skip.
    if (!canDeny && process.env['CI'] === 'true') throw new Error('running as root without /usr/bin/setpriv: the permission cases of lint cannot be made');
    dir = await tempDir('gitbus-lint-unreadable-');
    // Another uid must reach the checkout, and have a home of its own for the CLI's code cache.
    chmodSync(dir.path, 0o755);
    const home = join(dir.path, 'home');
    mkdirSync(home);
    if (isRoot) chownSync(home, OTHER_UID, OTHER_UID);
  });
  afterAll(async () => {
    for (const [path, mode] of restore.splice(0)) chmodSync(path, mode);
    await dir?.cleanup();
  });
  beforeEach(() => {
    for (const [path, mode] of restore.splice(0)) chmodSync(path, mode);
    co = join(dir.path, `co-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(join(co, 'handoffs'), { recursive: true });
    writeFileSync(join(co, 'gitbus.yaml'), 'protocol: 1\n');
    writeFileSync(join(co, 'handoffs', 'ok.md'), '---\ntitle: a task\n---\nbody\n');
    // A trust file and a co-signature of it that does not verify: checked only when the trust file can be read.
    mkdirSync(join(co, 'trust', 'chain'), { recursive: true });
    writeFileSync(join(co, 'trust', 'chain', '1.yaml'), 'x: 1\n');
    mkdirSync(join(co, 'signatures', 'trust', 'chain'), { recursive: true });
    writeFileSync(join(co, 'signatures', 'trust', 'chain', `1.yaml.${TAG}.sig`), SIG);
  });

  /** Takes away the user's access to `path` (rw- or ---: no search of a folder), until the next test. */
  const deny = (path: string, mode: number): void => {
    restore.unshift([path, statSync(path).mode & 0o7777]);
    chmodSync(path, mode);
  };

  /** `gitbus lint ARGS --json` as the user the modes deny (this one, or OTHER_UID when this is root). */
  const lint = (args: string[]): Promise<RunResult> => {
    const command = [process.execPath, BIN, 'lint', ...args, '--json'];
    const asUser = isRoot ? ['setpriv', `--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups', ...command] : command;
    const env = { PATH: process.env['PATH'], HOME: join(dir.path, 'home'), XDG_CACHE_HOME: join(dir.path, 'home', 'cache') };
    return spawnBounded(asUser[0] as string, asUser.slice(1), { cwd: dir.path, env, timeoutMs: 60_000 });
  };

  /** LINT_UNREADABLE for `path`, exit 10, with the cause and the fix, and no internal error. */
  const expectUnreadable = (r: RunResult, path: string, errno = 'EACCES', cause = 'permission denied'): Failure['error'] => {
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(10);
    const { error } = json<Failure>(r);
    expect(error).toMatchObject({ code: 'LINT_UNREADABLE', data: { path, errno } });
    expect(error.message).toContain(`${path}: ${cause} (${errno})`);
    expect(error.fix).toMatch(/then lint again$/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    return error;
  };

  it.skipIf(!canDeny)(`a checkout whose folder may be listed but not searched is LINT_UNREADABLE naming gitbus.yaml, not "not a bus checkout"${unless}`, async () => {
    deny(co, 0o644);
    const error = expectUnreadable(await lint([co]), join(co, 'gitbus.yaml'));
    expect(error.fix).toBe(`give the user running lint read access to it and to the folders above it (ls -ld ${join(co, 'gitbus.yaml')}), then lint again`);
  });

  it.skipIf(!canDeny)(`a bus file in a folder that may not be searched is LINT_UNREADABLE, not "does not exist"${unless}`, async () => {
    deny(join(co, 'handoffs'), 0o644);
    expectUnreadable(await lint([join(co, 'handoffs', 'ok.md')]), join(co, 'handoffs', 'ok.md'));
  });

  it.skipIf(!canDeny)(`a signed file lint may not look at ends lint, where it was taken for absent and the checkout reported clean${unless}`, async () => {
    // Readable, the sidecar is checked against its file and fails: the control that it is judged at all.
    const readable = await lint([co]);
    expect(readable.code, readable.stderr).toBe(8);
    expect(json<Report>(readable).problems).toEqual([expect.objectContaining({ path: `signatures/trust/chain/1.yaml.${TAG}.sig`, severity: 'error' })]);
    deny(join(co, 'trust'), 0o644);
    expectUnreadable(await lint([co]), join(co, 'trust', 'chain', '1.yaml'));
    // The sidecar alone: not a warning that its file is not there.
    expectUnreadable(await lint([join(co, 'signatures', 'trust', 'chain', `1.yaml.${TAG}.sig`)]), join(co, 'trust', 'chain', '1.yaml'));
  });

  it.skipIf(!canDeny)(`a folder or a file of a walk that may not be read is LINT_UNREADABLE, with a fix about read access, not the bus home${unless}`, async () => {
    deny(join(co, 'handoffs', 'ok.md'), 0o000);
    const file = expectUnreadable(await lint([co]), join(co, 'handoffs', 'ok.md'));
    expect(file.message).toMatch(/^lint cannot read /);
    expect(file.fix).toContain('read access');
    expect(file.fix).not.toContain('bus home');
    deny(join(co, 'handoffs'), 0o311);
    expect(expectUnreadable(await lint([co]), join(co, 'handoffs')).message).toMatch(/^lint cannot list /);
  });

  it('a path through a symbolic link that leads to itself is LINT_UNREADABLE (ELOOP), not "does not exist"', async () => {
    symlinkSync('loop', join(co, 'loop'));
    expectUnreadable(await lint([join(co, 'loop', 'x.md')]), join(co, 'loop', 'x.md'), 'ELOOP', 'a symbolic link on its path leads back to itself');
  });

  it('a live folder that is a link leading to itself stays the checkout\'s problem: the sidecar of a file in it does not end lint', async () => {
    rmSync(join(co, 'handoffs'), { recursive: true });
    symlinkSync('handoffs', join(co, 'handoffs'));
    mkdirSync(join(co, 'signatures', 'handoffs'));
    writeFileSync(join(co, 'signatures', 'handoffs', 'ok.md.sig'), SIG);
    const r = await lint([co]);
    expect(r.code, r.stderr).toBe(8);
    expect(json<Report>(r).problems.map((p) => p.path)).toContain('handoffs');
  });

  it.skipIf(!canDeny)(`a live folder that is a link out of the checkout says the same of a sidecar's file whatever is there, and never ends lint${unless}`, async () => {
    rmSync(join(co, 'handoffs'), { recursive: true });
    const outside = join(dir.path, `outside-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(outside);
    symlinkSync(outside, join(co, 'handoffs'));
    mkdirSync(join(co, 'signatures', 'handoffs'));
    writeFileSync(join(co, 'signatures', 'handoffs', 'ok.md.sig'), SIG);
    const said = async (): Promise<Report['problems']> => {
      const r = await lint([co]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(8);
      return json<Report>(r).problems;
    };
    // Nothing outside, a file, a folder, and a folder lint may not look into: what is outside is not lint's to say.
    const nothing = await said();
    expect(nothing.map((p) => p.path)).toContain('handoffs');
    writeFileSync(join(outside, 'ok.md'), 'x\n');
    expect(await said()).toEqual(nothing);
    rmSync(join(outside, 'ok.md'));
    mkdirSync(join(outside, 'ok.md'));
    expect(await said()).toEqual(nothing);
    deny(outside, 0o700);
    expect(await said()).toEqual(nothing);
  });
});
