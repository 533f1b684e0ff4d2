import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBus } from '../helpers/bus.js';
import { responseOn, shownOn, type ProjectReport } from '../helpers/project-tasks.js';
import { branchFiles, makeProject, pushHandoffs, showFile } from '../helpers/project.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * A project task whose branch cannot reach the project remote when the run ends: away (the result waits in the
 * outbox, the response with it) or refusing (the response goes out saying why, and the branch follows). Real git,
 * a real bare project remote moved away and back or closed by a pre-receive hook, nodes as separate processes.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let person: string;
const children: ChildProcess[] = [];

const shown = (id: string) => shownOn(bus.home('alpha'), id);
const response = (id: string) => responseOn(bus.home('alpha'), id);

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  person = join(bus.dir, 'person');
  for (const n of ['w1', 'w2']) await bus.addNode(n, [], ['--runner', 'shell']);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('a project remote that does not take the branch when the run ends', () => {
  it('a push that fails because the project remote is away keeps the result in the outbox and delivers both once it is back', async () => {
    const away = `${project.remote}.away`;
    pushHandoffs(person, bus.remote, [{ id: 'pw-away', frontmatter: { to: 'w2', repo: project.remote, command: `echo kept > kept.txt && mv ${project.remote} ${away}` } }]);
    const w = startWatcher(bus.home('w2'), ['--poll', '1s'], children);
    try {
      await until('the result to be held back', () => w.events().some((e) => e.type === 'queued' && e.id === 'pw-away'), 60_000, w.stderr);
      // Held: no response on the bus, the worktree kept with the commit.
      expect((await shown('pw-away')).state).toBe('claimed');
      expect(existsSync(join(bus.home('w2'), 'worktrees', 'pw-away', 'kept.txt'))).toBe(true);
      renameSync(away, project.remote);
      await until('the branch and the response to go out', () => w.events().some((e) => e.type === 'delivered' && e.id === 'pw-away'), 60_000, () => `${w.events().map((e) => JSON.stringify(e)).join('\n')}\n${w.stderr()}`);
      expect(w.events().find((e) => e.type === 'pushed' && e.id === 'pw-away')).toMatchObject({ branch: 'gitbus/pw-away' });
      // Delivered once: never set aside, released or run again.
      expect(w.events().filter((e) => e.id === 'pw-away' && (e.type === 'rejected' || e.type === 'released' || e.type === 'claimed')).map((e) => e.type)).toEqual(['claimed']);
      const r = await response('pw-away');
      expect(r.data.project).toMatchObject({ pushed: true, branch: 'gitbus/pw-away' });
      expect(showFile(project.remote, 'gitbus/pw-away', 'kept.txt')).toBe('kept\n');
    } finally {
      w.child.kill('SIGTERM');
      await w.exited;
      // Whatever happened above, the next tests find the project remote where it belongs.
      if (existsSync(away) && !existsSync(project.remote)) renameSync(away, project.remote);
    }
  }, 150_000);

  it('a push the project remote refuses lets the response go out saying why, and the node pushes again until it is taken', async () => {
    const hook = join(project.remote, 'hooks', 'pre-receive');
    const gate = join(bus.dir, 'refuse-pushes');
    writeFileSync(gate, '');
    writeFileSync(hook, `#!/bin/sh\nif [ -e ${gate} ]; then echo "pushes are closed today" >&2; exit 1; fi\n`);
    chmodSync(hook, 0o755);
    pushHandoffs(person, bus.remote, [{ id: 'pw-refused', frontmatter: { to: 'w1', repo: project.remote, command: 'echo later > later.txt' } }]);
    const w = startWatcher(bus.home('w1'), ['--poll', '1s', '--retry', '1s'], children);
    try {
      await until('the response', () => w.events().some((e) => e.type === 'delivered' && e.id === 'pw-refused'), 60_000, w.stderr);
      const r = await response('pw-refused');
      expect(r.data.status).toBe('succeeded');
      expect(r.data.project).toMatchObject({ pushed: false, branch: 'gitbus/pw-refused' });
      expect((r.data.project as ProjectReport).pushError).toContain('pushes are closed today');
      expect(r.body).toContain('Not on the project remote yet');
      expect(branchFiles(project.remote, 'gitbus/pw-refused')).toBeNull();
      rmSync(gate);
      await until('the branch pushed, then said on the bus (test/e2e/project-delivery.test.ts)', () => ['pushed', 'branch-delivered'].every((t) => w.events().some((e) => e.type === t && e.id === 'pw-refused')), 60_000, w.stderr);
      expect(showFile(project.remote, 'gitbus/pw-refused', 'later.txt')).toBe('later\n');
      expect(existsSync(join(bus.home('w1'), 'pushes', 'pw-refused.1.json'))).toBe(false);
    } finally {
      rmSync(hook, { force: true });
      w.child.kill('SIGTERM');
      await w.exited;
    }
  }, 150_000);

});
