import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeKeys } from '../helpers/ssh-keys.js';

/**
 * After `gitbus leave` the home still holds its node.yaml, clone and keys (leave leaves it as it is), and looked like
 * a working node: status said "this node: pi1", and `gitbus watch --once` silently put pi1's card back on the bus. Now
 * the home notes that its node left: the watcher refuses (NODE_LEFT, exit 7, with the fix), status says so, and
 * `gitbus join` with the bus's URL brings the node back from its node.yaml.
 */
type Bus = Awaited<ReturnType<typeof makeBus>>;
let bus: Bus;
const cards = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'nodes/']).split('\n').filter(Boolean);

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  await bus.addNode('pi1', ['arm'], ['--runner', 'shell']);
}, 60_000);
afterAll(async () => bus?.cleanup());

describe('a home whose node left the bus', () => {
  it('refuses to watch, says in status that it left, and comes back with gitbus join', async () => {
    const pi1 = bus.home('pi1');
    const left = await gitbus(['leave'], { home: pi1 });
    expect(left.code, left.stderr).toBe(0);
    expect(cards()).not.toContain('nodes/pi1.md');

    const st = await gitbus(['status'], { home: pi1 });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`this node: pi1 \\(it left the bus at \\S+: "gitbus join ${bus.remote}" brings it back\\)`));
    expect(json<{ left: { node: string; at: string } | null }>(await gitbus(['status', '--json'], { home: pi1 })).left).toMatchObject({ node: 'pi1' });

    for (const args of [['watch', '--once'], ['watch', '--once', '--json']]) {
      const w = await gitbus(args, { home: pi1 });
      expect(w.code, w.stderr).toBe(7);
      expect(w.stderr + w.stdout).toContain(args.includes('--json') ? '"code": "NODE_LEFT"' : 'node pi1 left the bus at ');
      expect(w.stderr + w.stdout).toContain(`gitbus join ${bus.remote}`);
    }
    // Nor does a trust root begin from it: refused before anything is written (it would publish the card last).
    makeKeys(join(bus.dir, 'keys'), ['alice']);
    const alice = join(bus.dir, 'keys', 'alice');
    const init = await gitbus(['trust', 'init', '--admin', `alice=${alice}.pub`, '--key', alice], { home: pi1 });
    expect(init.code, init.stderr).toBe(7);
    expect(init.stderr).toContain('node pi1 left the bus at ');
    expect(gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'trust/'])).toBe('');
    // Nothing went back on the bus: no card, no heartbeat.
    expect(cards()).not.toContain('nodes/pi1.md');
    expect(gitCli(['--git-dir', bus.remote, 'for-each-ref', 'refs/gitbus/heartbeats/pi1'])).toBe('');

    // Coming back takes node.yaml as it is: flags that would change it are refused.
    const flags = await gitbus(['join', bus.remote, '--label', 'gpu'], { home: pi1 });
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('node.yaml');
    const back = await gitbus(['join', bus.remote, '--json'], { home: pi1 });
    expect(back.code, back.stderr).toBe(0);
    expect(json<{ node: string; rejoined: boolean }>(back)).toMatchObject({ node: 'pi1', rejoined: true });
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:nodes/pi1.md'])).toMatch(/labels: \[arm\]/);
    expect((await gitbus(['status'], { home: pi1 })).stdout).toMatch(/this node: pi1\n/);
    const w = await gitbus(['watch', '--once'], { home: pi1 });
    expect(w.code, w.stderr).toBe(0);
  }, 90_000);
});
