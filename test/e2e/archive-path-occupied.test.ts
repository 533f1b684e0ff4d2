import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveIndexMirror } from '../../schemas/archive-index.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond } from '../helpers/in-process.js';

interface Check {
  name: string;
  status: string;
  detail: string;
  fix: string | null;
}

/**
 * The archive branch with something of another kind where `gitbus archive` writes a finished task (a file pushed with
 * plain git where the task's folder goes, a folder where one of its files goes): archive fails with PATH_OCCUPIED,
 * and doctor's archive.layout names each such path, the branch, the task and the git commands that move it aside.
 */
describe('a path on the archive branch where archiving writes something of another kind', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let month = '';
  let second = '';
  const git = (args: string[]) => gitCli(['--git-dir', bus.remote, ...args]).trim();
  const layout = async (): Promise<Check | undefined> => json<{ checks: Check[] }>(await gitbus(['doctor', '--json'], { home: bus.home('alpha') })).checks.find((c) => c.name === 'archive.layout');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    const first = await bus.dispatch('alpha', ['archived first']);
    await claimAndRespond(bus.home('alpha'), first, { status: 'succeeded', summary: 'ok' });
    const a = await gitbus(['archive', '--all'], { home: bus.home('alpha') });
    expect(a.code, a.stderr).toBe(0);
    month = git(['ls-tree', '--name-only', 'archive']).split('\n').find((n) => /^\d{4}-\d{2}$/.test(n)) ?? '';
    second = await bus.dispatch('alpha', ['finished, not archived yet']);
    await claimAndRespond(bus.home('alpha'), second, { status: 'succeeded', summary: 'ok' });
  });
  afterAll(async () => bus?.cleanup());

  it('fails archive with PATH_OCCUPIED, and doctor names the path, the branch, the task and the fix', async () => {
    expect(await layout()).toMatchObject({ status: 'ok' });
    // With plain git: a file where the task's month folder entry goes, a folder where its index copy's handoff goes.
    const work = join(bus.dir, 'archive-work');
    gitCli(['clone', '-q', '--branch', 'archive', bus.remote, work]);
    writeFileSync(join(work, month, second), 'notes kept here by hand\n');
    const mirror = archiveIndexMirror(`${month}/${second}/handoff.md`) ?? '';
    mkdirSync(join(work, mirror), { recursive: true });
    writeFileSync(join(work, mirror, 'x.txt'), 'a folder where a file goes\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], work);

    const a = await gitbus(['archive', '--all', '--json'], { home: bus.home('alpha') });
    // Said of the archive branch, pointing to doctor: lint reads main only.
    expect(json<{ error: { code: string; message: string; fix: string } }>(a).error).toMatchObject({ code: 'PATH_OCCUPIED', message: expect.stringContaining('on refs/heads/archive'), fix: expect.stringContaining('"gitbus doctor" names every such path') });

    const check = await layout();
    expect(check?.status).toBe('fail');
    expect(check?.detail).toContain(`"${month}/${second}" is a file on ${'refs/heads/archive'}, where archiving ${second} writes a folder`);
    expect(check?.detail).toContain(`"${mirror}" is a folder on refs/heads/archive, where archiving ${second} writes a file`);
    expect(check?.detail).toContain('"gitbus archive" fails with PATH_OCCUPIED');
    expect(check?.fix).toContain(`git clone --branch archive ${bus.remote}`);
    expect(check?.fix).toContain(`git rm -r -q -- ${month}/${second} ${mirror}`);
    expect(check?.fix).toContain('git push origin HEAD:archive');

    // The fix it names, then archive works and doctor is content.
    gitCli(['rm', '-r', '-q', '--', `${month}/${second}`, mirror], work);
    gitCli(['commit', '-q', '-m', 'move aside'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], work);
    const again = await gitbus(['archive', '--all', '--json'], { home: bus.home('alpha') });
    expect(again.code, again.stderr).toBe(0);
    expect(json<{ archived: string[] }>(again).archived).toEqual([second]);
    expect(await layout()).toMatchObject({ status: 'ok' });
  });

  it("fails archive --reindex with PATH_OCCUPIED said of the archive branch too, when the id index's folder is a file", async () => {
    const work = join(bus.dir, 'archive-work-ids');
    gitCli(['clone', '-q', '--branch', 'archive', bus.remote, work]);
    gitCli(['rm', '-r', '-q', '--', 'ids'], work);
    writeFileSync(join(work, 'ids'), 'x\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'ids by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], work);
    const r = await gitbus(['archive', '--reindex', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(8);
    expect(json<{ error: { code: string; message: string; fix: string } }>(r).error).toMatchObject({ code: 'PATH_OCCUPIED', message: expect.stringContaining('ids is a file on refs/heads/archive'), fix: expect.stringContaining('git rm in a clone of that branch') });
  });
});
