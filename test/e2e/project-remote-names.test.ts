import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { editNode } from '../helpers/project.js';

/**
 * What project work says to a person whose checkout does not call the project remote `origin`, and whose remote's
 * path has a space in it: the fixes name the remote as that checkout names it (or, from a worker, do not assume a
 * name), the dispatch line says what the base commit is when the branch's name alone would mislead, and a path with
 * a space gets a fix that works. Real git checkouts and bare remotes in temp dirs.
 */
describe('project work from a checkout whose remote is named upstream', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let remote: string;
  let co: string;

  const head = (cwd: string, rev = 'HEAD') => gitCli(['rev-parse', rev], cwd).trim();
  const commit = (cwd: string, message: string) => gitCli(['commit', '-q', '--allow-empty', '-m', message], cwd);
  const dispatchIn = (cwd: string, args: string[]): Promise<RunResult> => gitbus(['dispatch', ...args], { home, cwd });

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    home = bus.home('laptop');
    remote = join(bus.dir, 'proj.git');
    co = join(bus.dir, 'co');
    gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
    gitCli(['init', '-q', '-b', 'main', co]);
    commit(co, 'first');
    gitCli(['remote', 'add', 'upstream', remote], co);
    gitCli(['push', '-q', '-u', 'upstream', 'main'], co);
  });
  afterAll(async () => bus?.cleanup());

  it('a base not pushed from a local branch that tracks main: the error names that branch and the push to upstream, never origin', async () => {
    gitCli(['switch', '-q', '-c', 'work', '--track', 'upstream/main'], co);
    commit(co, 'on work, not pushed');
    const r = await dispatchIn(co, ['check it']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain(`the base commit ${head(co)} (the HEAD of your local branch work, which tracks main) is not on the project remote upstream (${remote})`);
    expect(r.stderr).toContain('"git push upstream work:main"');
    expect(r.stderr).not.toContain('origin');
  });

  it('the dispatch line says what the base commit is when HEAD is not the tip of main on upstream', async () => {
    // work's commit pushed to another branch of upstream: on the remote, but not main.
    gitCli(['push', '-q', 'upstream', 'work:feature'], co);
    const pushed = await dispatchIn(co, ['from work']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(`gitbus: project work on ${remote} from ${head(co).slice(0, 12)}, the HEAD of your local branch work (it tracks main), not the tip of main on upstream; results go to branch`);
    expect(pushed.stderr).not.toContain('from main');

    // A local main behind upstream's: its commit is on main there, not its tip, which the line names.
    gitCli(['switch', '-q', 'main'], co);
    commit(co, 'second');
    gitCli(['push', '-q', 'upstream', 'main'], co);
    const tip = head(co);
    gitCli(['reset', '-q', '--hard', 'HEAD~1'], co);
    const behind = await dispatchIn(co, ['from behind']);
    expect(behind.code, behind.stderr).toBe(0);
    expect(behind.stderr).toContain(`from ${head(co).slice(0, 12)}, the HEAD of your local branch main, not the tip of main on upstream (${tip.slice(0, 12)}); results go to branch`);

    // At main's tip on upstream, main's name is the truth.
    gitCli(['reset', '-q', '--hard', 'upstream/main'], co);
    const atTip = await dispatchIn(co, ['from main']);
    expect(atTip.code, atTip.stderr).toBe(0);
    expect(atTip.stderr).toContain(`from main (${tip.slice(0, 12)}); results go to branch`);
  });
});

describe('a project remote whose path has a space in it', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let worker: string;
  let spaced: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    home = bus.home('laptop');
    worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    mkdirSync(join(bus.dir, 'a b'));
    spaced = join(bus.dir, 'a b', 'proj.git');
    const co = join(bus.dir, 'co');
    gitCli(['init', '-q', '--bare', '-b', 'main', spaced]);
    gitCli(['init', '-q', '-b', 'main', co]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'first'], co);
    gitCli(['push', '-q', spaced, 'main'], co);
  });
  afterAll(async () => bus?.cleanup());

  it('--repo PATH and a batch line\'s repo: refused with the file:// URL that works, and that URL works, on the worker too', async () => {
    const url = `file://${join(bus.dir, 'a%20b', 'proj.git')}`;
    const flag = await gitbus(['dispatch', 'spaced', '--repo', spaced, '--to', 'worker', '--command', 'true'], { home });
    expect(flag.code, flag.stderr).toBe(2);
    expect(flag.stderr).toContain(`contains white space`);
    expect(flag.stderr).toContain(`write it as a file:// URL, in which git reads %20 as a space: ${url}`);
    expect(flag.stderr).not.toContain('percent-encode them');

    const batch = join(bus.dir, 'batch.jsonl');
    writeFileSync(batch, `${JSON.stringify({ title: 'spaced', to: 'worker', command: 'true', repo: spaced })}\n`);
    const lines = await gitbus(['dispatch', '--from', batch, '--no-git'], { home });
    expect(lines.code, lines.stderr).toBe(8);
    expect(lines.stderr).toContain(`batch.jsonl:1 (field repo)`);
    expect(lines.stderr).toContain(url);

    const r = await gitbus(['dispatch', 'spaced', '--repo', url, '--to', 'worker', '--command', 'true', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const id = json<{ id: string }>(r).id;
    const ran = await gitbus(['watch', '--once', '--json'], { home: worker, timeoutMs: 90_000 });
    expect(ran.code, ran.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(ran).ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    expect(gitCli(['--git-dir', spaced, 'branch', '--list', `gitbus/${id}`]).trim()).toBe(`gitbus/${id}`);
  }, 120_000);

  it('a node.yaml project at such a path: the commands in the fixes are quoted', async () => {
    editNode(home, (c) => ({ ...c, projects: { gone: { url: join(bus.dir, 'a b', 'gone.git') }, here: { url: spaced } } }));
    const gone = await gitbus(['dispatch', 'x', '--repo', 'gone', '--to', 'worker', '--command', 'true'], { home });
    expect(gone.code, gone.stderr).toBe(6);
    expect(gone.stderr).toContain(`git ls-remote '${join(bus.dir, 'a b', 'gone.git')}'`);
    const nobase = await gitbus(['dispatch', 'x', '--repo', 'here', '--base', 'nobranch', '--to', 'worker', '--command', 'true'], { home });
    expect(nobase.code, nobase.stderr).not.toBe(0);
    expect(nobase.stderr).toContain(`(git ls-remote '${spaced}' lists its branches and tags)`);
    const doctor = json<{ checks: { name: string; status: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home }));
    expect(doctor.checks.find((c) => c.name === 'project.gone')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`"git ls-remote '${join(bus.dir, 'a b', 'gone.git')}'" works`) });
  });
});
