import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile, mkdir, symlink, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

interface Problem {
  path: string;
  field: string;
  reason: string;
  fix: string;
}

/**
 * Every file in the coordination repo is untrusted. Hostile files pushed with plain git are reported with their
 * path and reason, never claimed, never executed, and do not stop valid work.
 */
describe('hostile input in the coordination repo', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let marker: string;
  const h = (name: string) => `handoffs/${name}`;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    marker = join(bus.dir, 'PWNED');
    const work = join(bus.dir, 'attacker');
    gitCli(['clone', '-q', bus.remote, work]);
    const put = async (path: string, text: string) => {
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), text);
    };
    await put(h('good-1.md'), '---\ntitle: the one valid task\n---\n');
    await put(h('bad-yaml.md'), '---\ntitle: [unclosed\n---\n');
    await put(h('conflict.md'), '---\n<<<<<<< HEAD\ntitle: mine\n=======\ntitle: theirs\n>>>>>>> branch\n---\n');
    await put(h('Upper.md'), '---\ntitle: upper case name\n---\n');
    await put(h('sub/nested.md'), '---\ntitle: in a subfolder\n---\n');
    await put(h('mismatch.md'), '---\nid: someone-else\ntitle: id does not match\n---\n');
    await put(h('typo.md'), '---\ntitle: typo in a field\nlables: [gpu]\n---\n');
    await put(h('big.md'), `---\ntitle: big\n---\n${'x'.repeat(300 * 1024)}\n`);
    await put(h('evil-tag.md'), `---\ntitle: !!js/function "function(){require('fs').writeFileSync('${marker}','x')}"\ncommand: touch ${marker}\n---\n`);
    await put(h('laughs.md'), `---\na: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ntitle: laughs\n---\n`);
    await put(h('proto.md'), '---\ntitle: proto\n__proto__: {polluted: true}\n---\n');
    await put(h('notes.txt'), 'not a bus file\n');
    await put(h('from-the-future.md'), '---\nprotocol: 2\ntitle: written by a newer gitbus\nwarp: 9\n---\n');
    await put('claims/orphan-task.1.md', '---\nid: orphan-task\nattempt: 1\nnode: alpha\nclaimed: 2026-11-21T00:00:00Z\n---\n');
    await put('claims/good-1.01.md', '---\nid: good-1\nattempt: 1\nnode: alpha\nclaimed: 2026-11-21T00:00:00Z\n---\n');
    await symlink('/etc/passwd', join(work, 'handoffs', 'link.md'));
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'hostile files'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  });
  afterAll(async () => bus?.cleanup());

  it('status reports every bad file with its path and reason, and keeps the valid task pending', async () => {
    const r = await gitbus(['status', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    const s = json<{ tasks: { id: string; state: string }[]; problems: Problem[] }>(r);
    const byPath = (p: string) => s.problems.filter((x) => x.path === p);
    expect(s.tasks.find((t) => t.id === 'good-1')?.state).toBe('pending');
    for (const bad of ['bad-yaml', 'conflict', 'mismatch', 'typo', 'big', 'evil-tag', 'laughs']) {
      expect(s.tasks.find((t) => t.id === bad)?.state, bad).toBe('invalid');
      expect(byPath(h(`${bad}.md`)).length, bad).toBeGreaterThan(0);
    }
    expect(byPath(h('conflict.md'))[0]?.reason).toMatch(/conflict/i);
    expect(s.tasks.find((t) => t.id === 'from-the-future')?.state).toBe('unsupported');
    expect(byPath(h('typo.md'))).toContainEqual(expect.objectContaining({ field: 'lables' }));
    expect(byPath(h('typo.md'))[0]?.fix).toContain('labels');
    expect(byPath(h('mismatch.md'))).toContainEqual(expect.objectContaining({ field: 'id' }));
    for (const p of [h('Upper.md'), h('sub'), h('link.md'), h('notes.txt'), 'claims/orphan-task.1.md', 'claims/good-1.01.md']) {
      expect(byPath(p).length, p).toBeGreaterThan(0);
    }
    for (const p of s.problems) {
      expect(p.reason.length).toBeGreaterThan(0);
      expect(p.fix.length).toBeGreaterThan(0);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
    // A link named as a handoff is an invalid task of that id (the id is taken), reported once.
    expect(s.tasks.find((t) => t.id === 'link')?.state).toBe('invalid');
    expect(byPath(h('link.md'))).toHaveLength(1);
  });

  it('show says why a task is invalid: each problem with its field and fix', async () => {
    const r = await gitbus(['show', 'typo'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^task typo: invalid\nproblems \(1\):\n {2}error: handoffs\/typo\.md \(lables\): .*\n {4}fix: .*labels/);
  });

  it('lint names every bad file and exits 8', async () => {
    const r = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(r.code).toBe(8);
    const report = json<{ problems: Problem[]; errors: number }>(r);
    expect(report.errors).toBeGreaterThanOrEqual(12);
    const human = await gitbus(['lint'], { home: bus.home('alpha') });
    expect(human.stdout).toContain('handoffs/conflict.md');
    expect(human.stdout).toContain('fix:');
  });

  it('claims only the valid task, and refuses invalid ones with a clear error', async () => {
    const first = await gitbus(['claim', '--next', '--json'], { home: bus.home('alpha') });
    expect(first.code, first.stderr).toBe(0);
    expect(json(first)).toMatchObject({ id: 'good-1' });
    const none = await gitbus(['claim', '--next', '--json'], { home: bus.home('alpha') });
    expect(none.code).toBe(3);
    expect(json<{ error: { code: string } }>(none).error.code).toBe('NOTHING_CLAIMABLE');
    const bad = await gitbus(['claim', 'bad-yaml'], { home: bus.home('alpha') });
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain('handoffs/bad-yaml.md');
    const newer = await gitbus(['claim', 'from-the-future'], { home: bus.home('alpha') });
    expect(newer.code).toBe(5);
    expect(newer.stderr).toContain('it needs protocol 2, newer than this gitbus');
    expect(existsSync(marker)).toBe(false);
  });

  it('an invalid task can be cancelled and archived away', async () => {
    const c = await gitbus(['cancel', 'typo', '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    expect(json(c)).toMatchObject({ id: 'typo', state: 'cancelled' });
    const a = await gitbus(['archive', '--all', '--json'], { home: bus.home('alpha') });
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).toContain('typo');
    const s = json<{ tasks: { id: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(s.tasks.map((t) => t.id)).not.toContain('typo');
  });

  it('lint of a link or a FIFO in a checkout reports it and reads neither: no target quoted, no wait for ever', async () => {
    const work = join(bus.dir, 'attacker');
    execFileSync('mkfifo', [join(work, 'handoffs', 'fifo.md')]);
    // And one where a profile's manifest names a file (docs/PROTOCOL.md §13).
    await mkdir(join(work, 'env', 'p1', 'files'), { recursive: true });
    await writeFile(join(work, 'env', 'p1', 'manifest.yaml'), `format: 1\nentries:\n  - source: rc\n    target: ~/.zshrc\nfiles:\n  rc: {sha256: ${'a'.repeat(64)}, size: 3, executable: false}\n`);
    execFileSync('mkfifo', [join(work, 'env', 'p1', 'files', 'rc')]);
    try {
      // Each in its own process, bounded: a read of the FIFO would never end.
      const link = await gitbus(['lint', join(work, 'handoffs', 'link.md'), '--json'], { process: true, timeoutMs: 15_000 });
      expect(link.code, link.stderr).toBe(8);
      expect(link.stdout).not.toContain('root:');
      expect(json<{ problems: Problem[] }>(link).problems).toEqual([expect.objectContaining({ path: 'handoffs/link.md', reason: expect.stringContaining('symbolic link') })]);
      const fifo = await gitbus(['lint', join(work, 'handoffs', 'fifo.md'), '--json'], { process: true, timeoutMs: 15_000 });
      expect(fifo.code, fifo.stderr).toBe(8);
      expect(json<{ problems: Problem[] }>(fifo).problems).toEqual([expect.objectContaining({ path: 'handoffs/fifo.md', reason: expect.stringContaining('not a regular file') })]);
      const all = await gitbus(['lint', work, '--json'], { process: true, timeoutMs: 15_000 });
      expect(all.code, all.stderr).toBe(8);
      expect(json<{ problems: Problem[] }>(all).problems).toContainEqual(expect.objectContaining({ path: 'handoffs/fifo.md', reason: expect.stringContaining('not a regular file') }));
      expect(json<{ problems: Problem[] }>(all).problems).toContainEqual(expect.objectContaining({ path: 'env/p1/files/rc' }));
    } finally {
      await rm(join(work, 'handoffs', 'fifo.md'));
      await rm(join(work, 'env'), { recursive: true });
    }
  });

  it('lint of signatures/ reads no FIFO and follows no link: a sidecar that is a FIFO, a signed file that is one, a signed file that is a link', async () => {
    const work = join(bus.dir, 'attacker');
    const sigs = join(work, 'signatures', 'handoffs');
    await mkdir(sigs, { recursive: true });
    execFileSync('mkfifo', [join(sigs, 'fifo-sig.md.sig')]);
    execFileSync('mkfifo', [join(work, 'handoffs', 'fifo-signed.md')]);
    const sig = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';
    await writeFile(join(sigs, 'fifo-signed.md.sig'), sig);
    await writeFile(join(sigs, 'link.md.sig'), sig);
    try {
      // Each in its own process, bounded: a read of a FIFO would never end.
      const all = await gitbus(['lint', work, '--json'], { process: true, timeoutMs: 15_000 });
      expect(all.code, all.stderr).toBe(8);
      expect(all.stdout).not.toContain('root:');
      expect(json<{ problems: Problem[] }>(all).problems).toContainEqual(expect.objectContaining({ path: 'signatures/handoffs/fifo-sig.md.sig', reason: expect.stringContaining('not a regular file') }));
      expect(json<{ problems: Problem[] }>(all).problems).toContainEqual(expect.objectContaining({ path: 'handoffs/fifo-signed.md', reason: expect.stringContaining('not a regular file') }));
      const one = await gitbus(['lint', join(sigs, 'fifo-sig.md.sig'), '--json'], { process: true, timeoutMs: 15_000 });
      expect(one.code, one.stderr).toBe(8);
      expect(json<{ problems: Problem[] }>(one).problems).toEqual([expect.objectContaining({ path: 'signatures/handoffs/fifo-sig.md.sig', reason: expect.stringContaining('not a regular file') })]);
      for (const name of ['fifo-signed.md', 'link.md']) {
        const r = await gitbus(['lint', join(sigs, `${name}.sig`), '--json'], { process: true, timeoutMs: 15_000 });
        expect(r.code, `${name}: ${r.stderr}`).toBe(8);
        expect(r.stdout).not.toContain('root:');
        expect(json<{ problems: Problem[] }>(r).problems).toEqual([expect.objectContaining({ path: `handoffs/${name}`, reason: expect.stringContaining('not a regular file') })]);
      }
    } finally {
      await rm(join(work, 'signatures'), { recursive: true });
      await rm(join(work, 'handoffs', 'fifo-signed.md'));
    }
  });

  it('a profile manifest whose updated is a leap second (RFC 3339 allows one) is captured over, not an internal error', async () => {
    const work = join(bus.dir, 'attacker');
    const home = join(bus.dir, 'person-home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.gitconfig'), '[user]\n\tname = one\n');
    const env = { HOME: home };
    const first = await gitbus(['env', 'capture', 'leap', '--add', '~/.gitconfig', '--json'], { home: bus.home('alpha'), env, process: true });
    expect(first.code, first.stderr).toBe(0);
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    const manifest = join(work, 'env', 'leap', 'manifest.yaml');
    await writeFile(manifest, readFileSync(manifest, 'utf8').replace(/^updated: .*$/m, 'updated: 2025-12-31T23:59:60Z'));
    gitCli(['commit', '-q', '-am', 'a leap second in the manifest'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    await writeFile(join(home, '.gitconfig'), '[user]\n\tname = two\n');
    const again = await gitbus(['env', 'capture', 'leap', '--json'], { home: bus.home('alpha'), env, process: true });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('INTERNAL');
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    // The new capture is later than the leap second, which is 2026-01-01T00:00:00Z.
    expect(readFileSync(manifest, 'utf8')).toMatch(/^updated: 20(2[6-9]|[3-9]\d)-/m);
  });

  it('attach never hands ssh a card\'s host name it could read as an option: refused, nothing run', async () => {
    const work = join(bus.dir, 'attacker');
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    const pwned = join(bus.dir, 'PWNED-BY-SSH');
    await writeFile(join(work, 'nodes', 'evil.md'), `---\nnode: evil\nlabels: []\nrunners: [tmux]\nparallel: 1\nversion: 0.1.0\nhost:\n  os: linux\n  hostname: "-oProxyCommand=touch ${pwned}"\njoined: 2026-01-01T00:00:00Z\nupdated: 2026-01-01T00:00:00Z\n---\n`);
    await writeFile(join(work, 'handoffs', 'tm1.md'), '---\ntitle: a tmux task\nrunner: tmux\ncommand: sleep 1000\n---\n');
    await writeFile(join(work, 'claims', 'tm1.1.md'), '---\nid: tm1\nattempt: 1\nnode: evil\nclaimed: 2026-11-21T00:00:00Z\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a card whose host name is an ssh option'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const shown = await gitbus(['attach', 'tm1', '--json'], { home: bus.home('alpha') });
    expect(shown.code, shown.stderr).toBe(8);
    expect(json<{ error: { code: string; message: string; fix: string } }>(shown).error).toMatchObject({ code: 'ATTACH_HOST_REFUSED', message: expect.stringContaining('nodes/evil.md'), fix: expect.stringContaining('tmux attach -t =gitbus-tm1:') });
    const ran = await gitbus(['attach', 'tm1', '--exec'], { home: bus.home('alpha'), process: true, timeoutMs: 15_000 });
    expect(ran.code, ran.stderr).toBe(8);
    expect(existsSync(pwned)).toBe(false);
    // Said before anyone attaches too: lint names the field, and the card is read all the same.
    const linted = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(json<{ problems: { path: string; field: string; severity: string }[] }>(linted).problems.filter((p) => p.path === 'nodes/evil.md')).toEqual([expect.objectContaining({ field: 'host.hostname', severity: 'warning' })]);
  });

  it("attach never hands tmux a card's socket it could read as an option, nor the host's shell one it could run", async () => {
    const work = join(bus.dir, 'attacker');
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    const pwned = join(bus.dir, 'PWNED-BY-SOCKET');
    const card = (node: string, socket: string) => `---\nnode: ${node}\nrunners: [tmux]\nhost:\n  hostname: ${node}\ntmuxSocket: ${JSON.stringify(socket)}\n---\n`;
    const sly = `/tmp/s; touch ${pwned}; $(touch ${pwned})`;
    await writeFile(join(work, 'nodes', 'optional.md'), card('optional', '-Lx'));
    await writeFile(join(work, 'nodes', 'sly.md'), card('sly', sly));
    for (const [task, node] of [['tm2', 'optional'], ['tm3', 'sly']]) {
      await writeFile(join(work, 'handoffs', `${task}.md`), '---\ntitle: a tmux task\nrunner: tmux\ncommand: sleep 1000\n---\n');
      await writeFile(join(work, 'claims', `${task}.1.md`), `---\nid: ${task}\nattempt: 1\nnode: ${node}\nclaimed: 2026-11-21T00:00:00Z\n---\n`);
    }
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'cards whose tmux socket is an option, or a command'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const refused = await gitbus(['attach', 'tm2', '--json'], { home: bus.home('alpha') });
    expect(refused.code, refused.stderr).toBe(8);
    expect(json<{ error: { code: string; message: string; fix: string } }>(refused).error).toMatchObject({ code: 'ATTACH_SOCKET_REFUSED', message: expect.stringContaining('nodes/optional.md'), fix: expect.stringContaining('tmux -S SOCKET attach -t =gitbus-tm2:') });
    // An absolute path is one word for the host's shell, whatever it holds: what ssh hands it is the words after the host.
    const sent = json<{ command: string }>(await gitbus(['attach', 'tm3', '--json'], { home: bus.home('alpha') })).command;
    expect(sent.startsWith('ssh -t sly tmux -S ')).toBe(true);
    const remoteLine = execFileSync('sh', ['-c', `set -- ${sent}; shift 3; printf '%s' "$*"`], { encoding: 'utf8' });
    expect(execFileSync('sh', ['-c', `set -- ${remoteLine}; printf '%s' "$3"`], { encoding: 'utf8' })).toBe(sly);
    expect(existsSync(pwned)).toBe(false);
    const linted = await gitbus(['lint', '--json'], { home: bus.home('alpha') });
    expect(json<{ problems: { path: string; field: string; severity: string }[] }>(linted).problems.filter((p) => p.path === 'nodes/optional.md')).toEqual([expect.objectContaining({ field: 'tmuxSocket', severity: 'warning' })]);
  });

  /** gitbus.yaml replaced by `text` on the remote's main, as someone with push access would. */
  async function pushSettings(text: string, message: string): Promise<void> {
    const work = join(bus.dir, 'attacker');
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    await writeFile(join(work, 'gitbus.yaml'), text);
    gitCli(['commit', '-q', '-am', message], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  }

  it('a gitbus.yaml with a field of a newer gitbus keeps its other settings and the bus stays writable', async () => {
    await pushSettings('protocol: 1\nname: newer fleet\nlease: 7m\nshardBy: group\n', 'a setting of a newer gitbus');
    const s = await gitbus(['status', '--json'], { home: bus.home('alpha') });
    expect(s.code, s.stderr).toBe(0);
    const status = json<{ settings: { name?: string; leaseMs: number }; problems: { path: string; field: string; severity: string; fix: string }[] }>(s);
    expect(status.settings).toMatchObject({ name: 'newer fleet', leaseMs: 7 * 60_000 });
    expect(status.problems.filter((p) => p.path === 'gitbus.yaml')).toEqual([expect.objectContaining({ field: 'shardBy', severity: 'warning', fix: expect.stringContaining('upgrade this node') })]);
    const d = await gitbus(['dispatch', 'still lands', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(d.code, d.stderr).toBe(0);
  });

  it('a gitbus.yaml over the object cap is named too large, never read, and the bus goes on with its defaults', async () => {
    // Written whole it would stop every read of the bus (OBJECT_TOO_LARGE), on every node; `trust` reads it too.
    await pushSettings(`name: huge\n#${'x'.repeat(65 * 1024 * 1024)}\n`, 'a gitbus.yaml over the object cap');
    const s = await gitbus(['status', '--json'], { home: bus.home('alpha') });
    expect(s.code, s.stderr).toBe(0);
    const status = json<{ settings: { name?: string; leaseMs: number }; problems: { path: string; reason: string; fix: string }[] }>(s);
    expect(status.settings.name).toBeUndefined();
    expect(status.settings.leaseMs).toBe(5 * 60_000);
    expect(status.problems.filter((p) => p.path === 'gitbus.yaml')).toEqual([expect.objectContaining({ reason: expect.stringContaining('more than the limit of 262144 (256 KiB)'), fix: expect.stringContaining('gitbus.yaml') })]);
    const d = await gitbus(['dispatch', 'lands all the same', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(d.code, d.stderr).toBe(0);
    const l = await gitbus(['trust', 'list', '--json'], { home: bus.home('alpha') });
    expect(l.code, l.stderr).toBe(0);
    await pushSettings('protocol: 1\n', 'gitbus.yaml put back');
  });

  it('a bus whose gitbus.yaml has a newer protocol is read but never written', async () => {
    await pushSettings('protocol: 2\nlease: 5m\n', 'bus upgraded by a newer gitbus');
    const before = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']);
    const d = await gitbus(['dispatch', 'should not land', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(d.code).toBe(7);
    expect(json<{ error: { code: string; fix: string } }>(d).error).toMatchObject({ code: 'UNSUPPORTED_PROTOCOL', fix: 'upgrade gitbus on this node' });
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main'])).toBe(before);
    const s = await gitbus(['status', '--json'], { home: bus.home('alpha') });
    expect(s.code).toBe(0);
  });
});

/**
 * A folder, link or submodule where a bus file goes, or a file where a live folder goes, is someone's content: no
 * command of gitbus writes over it (which would delete it from main), whatever it would have written there.
 */
describe('what a person put where gitbus writes', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  const files = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'main']).trim().split('\n');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    await bus.dispatch('alpha', ['first', '--id', 'v4', '--command', 'true']);
    await bus.dispatch('alpha', ['second', '--id', 'mr1']);
    await bus.dispatch('alpha', ['third', '--id', 'r1']);
    const c = await gitbus(['cancel', 'r1'], { home: bus.home('alpha') });
    if (c.code !== 0) throw new Error(c.stderr);
    work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    await mkdir(join(work, 'claims', 'v4.1.md'), { recursive: true });
    await writeFile(join(work, 'claims', 'v4.1.md', 'notes'), 'mine\n');
    await mkdir(join(work, 'releases', 'r1.1.md'), { recursive: true });
    await writeFile(join(work, 'releases', 'r1.1.md', 'notes'), 'mine as well\n');
    await mkdir(join(work, 'handoffs', 't-dir.md'), { recursive: true });
    await writeFile(join(work, 'handoffs', 't-dir.md', 'inner'), 'mine too\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a person\'s files'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  });
  afterAll(async () => bus?.cleanup());

  it('a folder named as a claim takes its attempt as an unreadable claim does: the task is not run, the folder stays', async () => {
    const w = await gitbus(['watch', '--once', '--json'], { home: bus.home('alpha') });
    expect(w.code, w.stderr).toBe(0);
    expect(json<{ ran: unknown[] }>(w).ran).toEqual([]);
    expect(files()).toContain('claims/v4.1.md/notes');
    const shown = await gitbus(['show', 'v4'], { home: bus.home('alpha') });
    expect(shown.stdout).toMatch(/^task v4: claimed/);
    expect(shown.stdout).toContain('==> claims/v4.1.md <==\n(not shown: it is a folder');
    // Claiming it says what holds it and what a person does about it.
    const c = await gitbus(['claim', 'v4', '--json'], { home: bus.home('alpha') });
    expect(c.code).toBe(5);
    expect(json<{ error: { message: string; fix: string } }>(c).error).toMatchObject({ message: expect.stringContaining('task v4 is held by claims/v4.1.md, which does not parse'), fix: expect.stringContaining('gitbus cancel v4') });
    // No node is named that could stop the work and report, so a cancel ends it at once, not `cancelling` for ever.
    const k = await gitbus(['cancel', 'v4', '--json'], { home: bus.home('alpha') });
    expect(k.code, k.stderr).toBe(0);
    expect(json<{ state: string }>(k).state).toBe('cancelled');
    expect((await gitbus(['show', 'v4'], { home: bus.home('alpha') })).stdout).toMatch(/^task v4: cancelled/);
    expect(files()).toContain('claims/v4.1.md/notes');
  });

  it('a finished task holding a folder is not archived (the archive holds files), so the folder stays', async () => {
    const a = await gitbus(['archive', '--all', '--json'], { home: bus.home('alpha') });
    expect(a.code, a.stderr).toBe(0);
    expect(json<{ archived: string[] }>(a).archived).not.toContain('r1');
    expect(files()).toEqual(expect.arrayContaining(['releases/r1.1.md/notes', 'cancels/r1.md']));
  });

  it('dispatch of an id whose handoff path is a folder is refused; the folder stays', async () => {
    const d = await gitbus(['dispatch', 'over it', '--id', 't-dir', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(d.code).not.toBe(0);
    expect(files()).toContain('handoffs/t-dir.md/inner');
  });

  it('a response where responses/ is a file is refused (PATH_OCCUPIED, exit 8) and the file stays', async () => {
    gitCli(['pull', '-q', 'origin', 'main'], work);
    await writeFile(join(work, 'responses'), 'a file where the responses folder goes\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a file named responses'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const c = await gitbus(['claim', 'mr1', '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    const r = await gitbus(['respond', 'mr1', '--status', 'succeeded', '--summary', 'done', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(8);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'PATH_OCCUPIED', fix: expect.stringContaining('responses') });
    expect(files()).toContain('responses');
    const s = json<{ problems: { path: string; reason: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(s.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'responses', reason: 'responses must be a folder' }), expect.objectContaining({ path: 'claims/v4.1.md' })]));
  });

  it('the watcher\'s lines quote a title with its bidirectional override shown, not obeyed', async () => {
    gitCli(['pull', '-q', 'origin', 'main'], work);
    // A title may hold U+202E (it is no control character to the schema); on a terminal it would reverse the line.
    await writeFile(join(work, 'handoffs', 'bidi.md'), '---\ntitle: "run \\u202e evil"\nrunner: shell\ncommand: "true"\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a title with a bidirectional override'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const w = await gitbus(['watch', '--once'], { home: bus.home('alpha') });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('claimed bidi (attempt 1): run <U+202E> evil');
    expect(w.stdout).not.toContain('\u202e');
  });
});

