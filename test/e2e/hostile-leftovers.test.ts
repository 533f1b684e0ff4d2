import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

interface Problem {
  path: string;
  field: string;
  reason: string;
  fix: string;
}

/**
 * What a hostile-repository probe left after the first round: files and refs pushed with plain git that a reader
 * misread (a problem show did not name, a tag taken for a heartbeat, a FIFO taken for a changed file, a path in a
 * response that made `logs` say whether a file exists on the reading machine).
 */
describe('hostile content pushed with plain git, second round', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work = '';
  let home = '';

  /** Files written in the person's clone, committed and pushed to main as a person would. */
  const push = async (files: Record<string, string>, message: string): Promise<void> => {
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), text);
    }
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', message], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  };
  const claim = (id: string, attempt: number, extra = '') => `---\nid: ${id}\nattempt: ${attempt}\nnode: alpha\nclaimed: 2026-11-21T00:00:00Z\n${extra}---\n`;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    home = bus.home('alpha');
    work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
  });
  afterAll(async () => bus?.cleanup());

  it('show names the problems of every claim file of the task (each attempt, and a name lint cannot take), as lint does', async () => {
    await bus.dispatch('alpha', ['claimed three times', '--id', 'c1']);
    await push({
      'claims/c1.1.md': claim('c1', 1, 'bogus: 1\n'),
      'releases/c1.1.md': '---\nid: c1\nattempt: 1\nnode: alpha\nreleased: 2026-11-21T00:01:00Z\n---\n',
      'claims/c1.2.md': claim('c1', 2),
      'claims/c1.03.md': claim('c1', 3),
    }, 'claims of c1 with problems');
    const lint = json<{ problems: Problem[] }>(await gitbus(['lint', '--json'], { home })).problems.filter((p) => p.path.startsWith('claims/c1.'));
    expect(lint.map((p) => p.path).sort()).toEqual(['claims/c1.03.md', 'claims/c1.1.md']);
    const shown = await gitbus(['show', 'c1', '--json'], { home });
    expect(shown.code, shown.stderr).toBe(0);
    const problems = json<{ summary: { problems: Problem[] } }>(shown).summary.problems;
    for (const p of lint) expect(problems).toContainEqual(expect.objectContaining({ path: p.path, field: p.field, reason: p.reason, fix: p.fix }));
    const human = await gitbus(['show', 'c1'], { home });
    expect(human.stdout).toContain('error: claims/c1.1.md (bogus): unknown field "bogus"');
    expect(human.stdout).toContain('error: claims/c1.03.md: the attempt "03" has leading zeros\n    fix: rename it to claims/c1.3.md');
  });

  it('an annotated tag at a heartbeat ref is no heartbeat: the node is not counted as beating, and the ref is named', async () => {
    gitCli(['pull', '-q', '--ff-only', 'origin', 'main'], work);
    gitCli(['tag', '-a', '-m', 'not a heartbeat', 'beat-tag', 'HEAD'], work);
    gitCli(['push', '-q', '-f', 'origin', 'beat-tag:refs/gitbus/heartbeats/alpha', 'beat-tag:refs/gitbus/heartbeats/ghost'], work);
    try {
      const s = await gitbus(['status', '--json'], { home });
      expect(s.code, s.stderr).toBe(0);
      const status = json<{ nodes: { node: string; liveness: string; heartbeat: unknown }[]; cardless: { node: string }[]; problems: Problem[] }>(s);
      expect(status.nodes.find((n) => n.node === 'alpha')).toMatchObject({ liveness: 'unleased', heartbeat: null });
      expect(status.cardless).toEqual([]);
      for (const node of ['alpha', 'ghost']) {
        expect(status.problems).toContainEqual(expect.objectContaining({ path: `refs/gitbus/heartbeats/${node}`, reason: expect.stringContaining('an annotated tag, not a commit'), fix: expect.stringContaining(`--delete refs/gitbus/heartbeats/${node}`) }));
      }
      const d = json<{ checks: { name: string; status: string; detail: string }[] }>(await gitbus(['doctor', '--json'], { home }));
      expect(d.checks.find((c) => c.name === 'heartbeat.self')).toMatchObject({ status: 'warn', detail: expect.stringContaining('refs/gitbus/heartbeats/alpha: it points at an annotated tag') });
      const others = d.checks.find((c) => c.name === 'heartbeat.others');
      expect(others?.detail).toContain('0 alive');
      expect(others?.detail).toContain('not counted as beating: refs/gitbus/heartbeats/ghost');
    } finally {
      gitCli(['push', '-q', 'origin', '--delete', 'refs/gitbus/heartbeats/alpha', 'refs/gitbus/heartbeats/ghost'], work);
    }
  });

  it('lint of a checkout with a FIFO in a profile of env/ says it is not a regular file and skipped, not that its content changed', async () => {
    await mkdir(join(work, 'env', 'p1', 'files'), { recursive: true });
    await writeFile(join(work, 'env', 'p1', 'manifest.yaml'), `format: 1\nentries:\n  - source: rc\n    target: ~/.zshrc\nfiles:\n  rc: {sha256: ${'a'.repeat(64)}, size: 3, executable: false}\n`);
    execFileSync('mkfifo', [join(work, 'env', 'p1', 'files', 'rc')]);
    try {
      // In its own process, bounded: an open of the FIFO would never end.
      for (const target of [work, join(work, 'env', 'p1', 'files', 'rc')]) {
        const r = await gitbus(['lint', target, '--json'], { process: true, timeoutMs: 15_000 });
        expect(r.code, r.stderr).toBe(8);
        const mine = json<{ problems: Problem[] }>(r).problems.filter((p) => p.path === 'env/p1/files/rc');
        expect(mine, target).toEqual([expect.objectContaining({ reason: expect.stringContaining('not a regular file (a FIFO, a device or a socket): it is skipped, never opened') })]);
      }
    } finally {
      await rm(join(work, 'env'), { recursive: true });
    }
  });

  it('logs judges whether a response\'s full log was removed only for a path in this node\'s log folder: no look at any other path here', async () => {
    const logTail = (path: string) => `## Summary\n\ndone\n\n## Log\n\nThe output below is only its end: all 5000 bytes of output are in \`${path}\` on the node that ran the task.\n\n## Output\n\n\`\`\`\nthe end\n\`\`\`\n`;
    const cases = {
      // Not there, outside the log folder: an answer would tell whether the reader's machine has that file.
      away: join(bus.dir, 'no-such-file'),
      // Normalised, outside it too.
      climbs: join(home, 'logs', '..', 'no-such-file'),
      // This node's own log of the run, which the watcher removed: that is worth saying.
      own: join(home, 'logs', 'lg-own.1.log'),
    };
    const files: Record<string, string> = {};
    for (const [name, path] of Object.entries(cases)) {
      await bus.dispatch('alpha', [`a response naming ${name}`, '--id', `lg-${name}`]);
      files[`claims/lg-${name}.1.md`] = claim(`lg-${name}`, 1);
      files[`responses/lg-${name}.md`] = `---\nid: lg-${name}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: 2026-11-21T00:02:00Z\n---\n${logTail(path)}`;
    }
    await push(files, 'responses that name log paths');
    for (const [name, path] of Object.entries(cases)) {
      const r = await gitbus(['logs', `lg-${name}`, '--json'], { home });
      expect(r.code, r.stderr).toBe(0);
      const out = json<{ fullLogPath: string; fullLogRemoved?: boolean }>(r);
      expect(out.fullLogPath, name).toBe(path);
      expect(out.fullLogRemoved, name).toBe(name === 'own' ? true : undefined);
    }
  });
});
