import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { writeFile, mkdir, symlink } from 'node:fs/promises';
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
