import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pruneClone } from '../../bus/store/clone-prune.js';
import { homePaths } from '../../bus/home.js';
import { gitCli } from '../helpers/cli.js';
import { BusRepo } from '../../bus/repo.js';
import { LocalTransport } from '../../bus/transport/local.js';
import type { Transport } from '../../bus/transport/transport.js';
import { ageClone, looseObjects } from '../helpers/clone-objects.js';
import { makeBus } from '../helpers/bus.js';
import { directCopyOff } from '../helpers/direct-env.js';
import { statusInProcess } from '../helpers/in-process.js';
import { datedCommits as commitsByPerson, gitAt as gitPerson, pushLoose } from '../helpers/dated-commits.js';

const commitsIn = (gitdir: string): Set<string> => new Set(looseObjects(gitdir).filter((o) => gitCli(['--git-dir', gitdir, 'cat-file', '-t', o]).trim() === 'commit'));

/**
 * How much of main's history a node fetches (bus/history-fetch.ts): what was committed since the commit it last saw,
 * less an hour for clocks; the rest only when the way down to that commit is not found. Each case on a direct copy
 * and through git's upload-pack.
 */
for (const direct of [true, false]) {
  describe(`main's history fetched by a node (${direct ? 'copied directly' : 'through upload-pack'})`, () => {
    let bus: Awaited<ReturnType<typeof makeBus>>;
    let restore = (): void => undefined;
    let clone: string;
    let main: string;
    afterAll(async () => {
      restore();
      await bus?.cleanup();
    });

    it("brings a merge of a branch forked a day ago without the bus's history below the fork", async () => {
      if (!direct) restore = directCopyOff();
      bus = await makeBus({ node: 'alpha' });
      clone = homePaths(await bus.addNode('beta')).clone;
      main = join(bus.dir, 'main-work');
      gitCli(['clone', '-q', bus.remote, main]);
      commitsByPerson(main, 80, 'yesterday', 26);
      // A person's clone made a day ago: the fork.
      const person = join(bus.dir, 'person-work');
      gitCli(['clone', '-q', bus.remote, person]);
      commitsByPerson(main, 80, 'today', 2);
      await statusInProcess(bus.home('beta'));
      ageClone(clone);
      await pruneClone(clone);
      const before = commitsIn(clone);

      // The person commits offline, then pulls (a merge) and pushes.
      writeFileSync(join(person, 'NOTE.txt'), 'a note\n');
      gitPerson(person, ['add', 'NOTE.txt'], 25);
      gitPerson(person, ['commit', '-q', '-m', 'a note'], 25);
      gitPerson(person, ['pull', '-q', '--no-rebase', '--no-edit', 'origin', 'main']);
      pushLoose(person);
      await statusInProcess(bus.home('beta'));

      const fetched = [...commitsIn(clone)].filter((c) => !before.has(c));
      // The merge alone: the note was committed a day before, and the 80 commits below the fork with it.
      expect(fetched).toEqual([gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim()]);
      expect(gitCli(['--git-dir', clone, 'rev-parse', 'refs/heads/main']).trim()).toBe(fetched[0]);
      expect(gitCli(['--git-dir', clone, 'fsck', '--no-dangling', '--connectivity-only'])).not.toMatch(/missing|broken/);
    });

    it('finds what it last saw below a commit whose clock was hours behind, several processes at once', async () => {
      commitsByPerson(main, 3, 'before the slow clock');
      commitsByPerson(main, 2, 'by a clock three hours behind', 3);
      commitsByPerson(main, 3, 'after it');
      const tip = gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
      await Promise.all([0, 1, 2, 3].map(() => statusInProcess(bus.home("beta"))));
      expect(gitCli(['--git-dir', clone, 'rev-parse', 'refs/heads/main']).trim()).toBe(tip);
      expect(gitCli(['--git-dir', clone, 'rev-list', '--count', `${tip}~8..${tip}`]).trim()).toBe('8');
      expect(gitCli(['--git-dir', clone, 'fsck', '--no-dangling', '--connectivity-only'])).not.toMatch(/missing|broken/);
    });

    it('brings one commit for one, after a prune below a main dated by a clock three hours behind', async () => {
      commitsByPerson(main, 100, 'an hour ago', 1);
      await statusInProcess(bus.home('beta'));
      ageClone(clone);
      await pruneClone(clone);
      commitsByPerson(main, 1, 'by a slow clock', 3);
      await statusInProcess(bus.home('beta'));
      const before = commitsIn(clone);
      commitsByPerson(main, 1, 'by a right clock');
      await statusInProcess(bus.home('beta'));
      expect([...commitsIn(clone)].filter((c) => !before.has(c))).toHaveLength(1);
    });

    it('says main was rewound when it went back and a new commit went on top, fetching no more than that commit', async () => {
      const loose = looseObjects(clone).length;
      gitPerson(main, ['pull', '-q', '--ff-only', 'origin', 'main']);
      gitPerson(main, ['reset', '-q', '--hard', 'HEAD~5']);
      gitPerson(main, ['commit', '-q', '--allow-empty', '-m', 'on the rewound main']);
      gitPerson(main, ['push', '-q', '--force', '--receive-pack=git -c receive.unpackLimit=1000000 receive-pack', 'origin', 'HEAD:main']);
      await expect(statusInProcess(bus.home('beta'))).rejects.toThrow(/rewound|does not carry/);
      expect(looseObjects(clone).length - loose).toBeLessThanOrEqual(3);
      // Put back, for the next case.
      gitPerson(main, ['push', '-q', '--force', 'origin', `${gitCli(['--git-dir', clone, 'rev-parse', 'refs/heads/main']).trim()}:refs/heads/main`]);
      gitPerson(main, ['fetch', '-q', 'origin']);
      gitPerson(main, ['reset', '-q', '--hard', 'origin/main']);
    });

    it('says main was rewound when it went back to a commit the clone holds, fetching nothing', async () => {
      const loose = looseObjects(clone).length;
      gitPerson(main, ['pull', '-q', '--ff-only', 'origin', 'main']);
      gitPerson(main, ['push', '-q', '--force', 'origin', 'HEAD~5:refs/heads/main']);
      await expect(statusInProcess(bus.home('beta'))).rejects.toThrow(/rewound|does not carry/);
      expect(looseObjects(clone).length).toBe(loose);
      gitPerson(main, ['push', '-q', '--force', 'origin', `${gitCli(['--git-dir', clone, 'rev-parse', 'refs/heads/main']).trim()}:refs/heads/main`]);
      gitPerson(main, ['fetch', '-q', 'origin']);
      gitPerson(main, ['reset', '-q', '--hard', 'origin/main']);
    });

    it('brings a node that just joined what came after its join, not the hour before it', async () => {
      const fresh = homePaths(await bus.addNode(`late-${direct ? 'd' : 'u'}`)).clone;
      const joined = commitsIn(fresh);
      commitsByPerson(main, 3, 'after the join');
      await statusInProcess(bus.home(`late-${direct ? 'd' : 'u'}`));
      expect([...commitsIn(fresh)].filter((c) => !joined.has(c))).toHaveLength(3);
    });
  });
}

/** Through upload-pack, where a fetch can fail halfway and the remote reads the clone's boundaries. */
describe("main's history fetched through upload-pack, when a fetch fails or a clock is fast", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let restore = (): void => undefined;
  afterAll(async () => {
    restore();
    await bus?.cleanup();
  });

  it('finds what it last saw at the next sync after the fetch of the rest failed halfway', async () => {
    restore = directCopyOff();
    bus = await makeBus({ node: 'alpha' });
    const clone = homePaths(await bus.addNode('beta')).clone;
    const main = join(bus.dir, 'main-work');
    gitCli(['clone', '-q', bus.remote, main]);
    commitsByPerson(main, 3, 'base');
    await statusInProcess(bus.home('beta'));
    commitsByPerson(main, 1, 'by a clock three hours behind', 3);
    commitsByPerson(main, 1, 'after it');
    // The second exchange (the rest, below the slow commit) is cut off.
    const inner = new LocalTransport(bus.remote);
    let calls = 0;
    const flaky: Transport = Object.assign(Object.create(inner) as Transport, {
      rpc: (service: Parameters<Transport['rpc']>[0], body: Uint8Array) => (++calls === 2 ? Promise.reject(new Error('connection reset')) : inner.rpc(service, body)),
    });
    const repo = new BusRepo(clone, flaky);
    await expect(repo.sync()).rejects.toThrow(/connection reset/);
    await repo.close();
    // The next command reads main as it is: no rewind reported.
    await statusInProcess(bus.home('beta'));
    expect(gitCli(['--git-dir', clone, 'rev-parse', 'refs/heads/main']).trim()).toBe(gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim());
  });

  it('brings a node that joined after a burst of commits only what came after its join', async () => {
    const main = join(bus.dir, 'main-work');
    commitsByPerson(main, 100, 'half an hour ago', 0.5);
    const clone = homePaths(await bus.addNode('gamma')).clone;
    const before = looseObjects(clone).length;
    commitsByPerson(main, 20, 'after the join');
    await statusInProcess(bus.home('gamma'));
    // 20 commits, each of them one object (empty commits share the tree): not the 100 before the join.
    expect(looseObjects(clone).length - before).toBe(20);
  });

  it('keeps the bound after a merge dated by a clock three hours fast', async () => {
    const clone = homePaths(bus.home('beta')).clone;
    const main = join(bus.dir, 'main-work');
    const fork = (name: string) => {
      const work = join(bus.dir, name);
      gitCli(['clone', '-q', bus.remote, work]);
      return work;
    };
    commitsByPerson(main, 20, 'yesterday', 26);
    const first = fork('first-work');
    const second = fork('second-work');
    commitsByPerson(main, 80, 'today', 2);
    await statusInProcess(bus.home('beta'));
    const merge = (work: string, note: string, clockAhead: number) => {
      writeFileSync(join(work, note), 'a note\n');
      gitPerson(work, ['add', note], 25);
      gitPerson(work, ['commit', '-q', '-m', note], 25);
      gitPerson(work, ['pull', '-q', '--no-rebase', '--no-edit', 'origin', 'main'], -clockAhead);
      pushLoose(work);
    };
    merge(first, 'FAST.txt', 3);
    await statusInProcess(bus.home('beta'));
    // A commit by a right clock on top, and a prune: the fork below lies below the clone's history now.
    commitsByPerson(main, 1, 'right clock');
    await statusInProcess(bus.home('beta'));
    ageClone(clone);
    await pruneClone(clone);
    const before = commitsIn(clone);
    merge(second, 'LATER.txt', 0);
    await statusInProcess(bus.home('beta'));
    expect([...commitsIn(clone)].filter((c) => !before.has(c))).toHaveLength(1);
  });
});
