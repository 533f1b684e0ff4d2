import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { publishHeartbeat } from '../../bus/ops/heartbeat.js';
import { dispatch } from '../../bus/ops/dispatch.js';
import { heartbeatRef } from '../../bus/model/liveness.js';
import { MAIN } from '../../bus/repo.js';
import { RemoteNotFoundError } from '../../bus/transport/errors.js';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { deliverQueued } from '../../bus/ops/deliver.js';
import { putQueue } from '../../bus/queue.js';
import { execFileSync } from 'node:child_process';

/**
 * A dispatch's delivery reads the local remote's main alone (BusRepo.remoteRef, TransactOptions.oneRef; issue 14):
 * the listing of every ref, one heartbeat ref a node, was a sixth of its push. What it reads must be what the
 * listing would say, and whatever reads the other refs must still list them.
 */
describe("a sync of main alone on a local remote", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let alpha: BusContext;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    const beta = await openBus(bus.home('beta'));
    try {
      await publishHeartbeat(beta, [], { everyMs: 30_000 });
    } finally {
      await beta.repo.close();
    }
    alpha = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await alpha?.repo.close();
    await bus?.cleanup();
  });

  it("reads each ref as the listing has it, null for one the remote lacks", async () => {
    const listing = await alpha.repo.transport.listRefs();
    const readRef = alpha.repo.transport.readRef?.bind(alpha.repo.transport);
    expect(readRef).toBeDefined();
    for (const ref of [MAIN, heartbeatRef('beta'), heartbeatRef('nobody'), 'refs/heads/archive']) expect(await readRef?.(ref), ref).toBe(listing.get(ref) ?? null);
    expect(listing.get(heartbeatRef('beta'))).toMatch(/^[0-9a-f]{40}$/);
  });

  it("follows main as a listing's sync does, and leaves the listing (lastRefs) to whoever lists", async () => {
    await alpha.repo.sync(MAIN);
    const listedAt = alpha.repo.listedAt;
    const refs = alpha.repo.lastRefs;
    expect(refs.get(heartbeatRef('beta'))).toBeDefined();
    // Another node moves main: the sync of main alone fetches it, and counts as a contact with the remote.
    await bus.dispatch('beta', ['moved by beta']);
    const contact = join(alpha.repo.gitdir, 'gitbus-last-contact');
    utimesSync(contact, new Date(0), new Date(0));
    const moved = await alpha.repo.sync(MAIN, { oneRef: true });
    expect(moved).toBe((await alpha.repo.transport.listRefs()).get(MAIN));
    expect(await alpha.repo.localHead(MAIN)).toBe(moved);
    expect(alpha.repo.listedAt).toBe(listedAt);
    expect(alpha.repo.lastRefs).toBe(refs);
    expect(statSync(contact).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a dispatch's delivery lists no refs, and its handoff lands on main", async () => {
    const listedAt = alpha.repo.listedAt;
    const r = await dispatch(alpha, { handoff: { title: 'one ref' }, body: 'one ref' });
    expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await alpha.repo.transport.listRefs()).get(MAIN)).toBe(r.commit);
    expect(alpha.repo.listedAt).toBe(listedAt);
  });

  it('a delivery takes the archive from a read after main, never from a listing made before another node archived', async () => {
    // A task dispatched, ended and archived by another node, whose handoff a process of this node killed after its
    // dispatch landed left queued: it must not come back onto main as a new task (bus/ops/deliver.ts).
    const sent = await gitbus(['dispatch', 'archived meanwhile', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(sent.code, sent.stderr).toBe(0);
    const id = json<{ id: string; path: string }>(sent).id;
    const path = `handoffs/${id}.md`;
    const text = execFileSync('git', ['--git-dir', bus.remote, 'show', `main:${path}`], { encoding: 'utf8' });
    expect((await gitbus(['cancel', id], { home: bus.home('alpha') })).code).toBe(0);
    await alpha.repo.sync(MAIN);
    const archived = await gitbus(['archive', '--all'], { home: bus.home('beta') });
    expect(archived.code, archived.stderr).toBe(0);
    // The listing just made, as far as its age says (a watcher's wake, an --after lookup): it has no archive yet.
    alpha.repo.listedAt = Date.now();
    putQueue(alpha.paths.home, { kind: 'dispatch', id, path, text, title: 'archived meanwhile', queuedAt: new Date().toISOString(), chosenId: false });
    const d = await deliverQueued(alpha);
    expect(d.commit).toBeNull();
    expect(d.delivered.map((e) => e.id)).toEqual([id]);
    expect(execFileSync('git', ['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'handoffs/'], { encoding: 'utf8' })).not.toContain(id);
  });

  it('a remote gone since it was opened is RemoteNotFoundError, as for a listing', async () => {
    renameSync(bus.remote, `${bus.remote}.away`);
    try {
      await expect(alpha.repo.transport.readRef?.(MAIN)).rejects.toBeInstanceOf(RemoteNotFoundError);
      await expect(alpha.repo.transport.listRefs()).rejects.toBeInstanceOf(RemoteNotFoundError);
    } finally {
      renameSync(`${bus.remote}.away`, bus.remote);
    }
  });
});
