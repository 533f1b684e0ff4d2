import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { fingerprintOf, makeKeys, NO_GIT_KEY } from '../helpers/ssh-keys.js';

/**
 * Node keys in the trust root (docs/PROTOCOL.md §12, "Node keys"), with real ssh-keygen keys and the CLI as
 * processes. boss, the bus's only node, starts the trust root: version 1 lists boss's own key and refuses unlisted
 * nodes. w joins and pins: its card offers its key and it is told the command an admin runs; the admin lists it from
 * the card (refused without a terminal or with a wrong fingerprint), w rotates its key and the admin replaces the
 * line, then removes it; unlistedNodes toggles. A node whose configured key is an admin's lists itself when it pins,
 * and with threshold 2 that is a proposal. trust list and doctor say all of it.
 */

interface Check {
  name: string;
  status: string;
  detail: string;
  fix: string | null;
}
interface Listing {
  status: string;
  version: number;
  command?: string;
  why?: string;
  replaces?: string[];
  unlistedNodes?: string;
  waitingFor?: string[];
}
interface OwnKey {
  node: string;
  fingerprint: string;
  key: string;
  created: boolean;
  previous: { fingerprint: string; path: string } | null;
  listing: Listing;
}
interface NodesView {
  unlistedNodes: string;
  listed: { node: string; fingerprint: string }[];
  awaiting: { node: string; fingerprint: string; listed: string[]; command: string }[];
  unkeyed: string[];
}

/** Keeps the machine's git config (a user.signingkey of the person running the tests) out of every command. */
const errorOf = (r: RunResult) => json<{ error: { code: string; message: string; fix: string } }>(r).error;

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let keys: string;
const key = (name: string) => join(keys, name);
const fpOf = fingerprintOf;
const fp = (name: string) => fpOf(`${key(name)}.pub`);
const nodeFp = (home: string) => fpOf(join(home, 'keys', 'node_ed25519.pub'));
const nodePubLine = (home: string) => readFileSync(join(home, 'keys', 'node_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');

const run = (args: string[], home: string) => gitbus([...args, '--json'], { home, env: NO_GIT_KEY });
async function ok<T>(args: string[], home: string): Promise<T> {
  const r = await run(args, home);
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return json<T>(r);
}
const admin = <T>(args: string[]) => ok<T>([...args, '--key', key('alice')], boss);
const fromBus = (path: string) => gitCli(['show', `main:${path}`], bus.remote);
const cardKey = (node: string) => (parse(/^---\n([\s\S]*?)\n---\n/.exec(fromBus(`nodes/${node}.md`))?.[1] ?? '') as { key?: string }).key;
const nodeLines = () => fromBus('trust/allowed_signers').split('\n').filter((l) => l.startsWith('node:'));

async function nodeKeyCheck(home: string): Promise<Check> {
  const r = await run(['doctor'], home);
  const c = json<{ checks: Check[] }>(r).checks.find((x) => x.name === 'trust.node-key');
  if (!c) throw new Error(`no trust.node-key check: ${r.stdout}`);
  return c;
}
const nodesOf = async (home: string) => (await ok<{ nodes: NodesView }>(['trust', 'list'], home)).nodes;

function editYaml(home: string, change: (c: Record<string, unknown>) => void): void {
  const path = join(home, 'node.yaml');
  const c = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(c);
  writeFileSync(path, stringify(c));
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  makeKeys(keys, ['alice', 'bob', 'carol']);
}, 30_000);
afterAll(async () => bus?.cleanup());

describe('node keys in the trust root', () => {
  it('trust init lists its own node\'s key and, being the only node, refuses unlisted nodes', async () => {
    const r = await admin<{ version: number; node: { node: string; fingerprint: string }; unlistedNodes: { value: string; why: string; chosen: string } }>(['trust', 'init', '--admin', `alice=${key('alice')}.pub`]);
    expect(r.version).toBe(1);
    expect(r.node).toMatchObject({ node: 'boss', fingerprint: nodeFp(boss) });
    expect(r.unlistedNodes).toMatchObject({ value: 'refuse', chosen: 'default' });
    expect(r.unlistedNodes.why).toContain('only node');
    expect(fromBus('trust/chain/1.allowed_signers')).toContain(`node:boss namespaces="gitbus-claim@v1,gitbus-release@v1,gitbus-response@v1,gitbus-node@v1" ${nodePubLine(boss)} gitbus node boss\n`);
    expect(fromBus('trust/chain/1.policy.yaml')).toContain('unlistedNodes: refuse');
    // The card offers the key the node made, so admins can list it without copying files around.
    expect(cardKey('boss')).toBe(nodePubLine(boss));
    expect(await nodeKeyCheck(boss)).toMatchObject({ status: 'ok' });
  });

  it('a node that joins and pins offers its key on its card and is told the exact command an admin runs', async () => {
    const r = await run(['join', bus.remote, '--node', 'w', '--trust', fp('alice')], bus.home('w'));
    expect(r.code, r.stderr).toBe(0);
    w = bus.home('w');
    const own = json<{ nodeKey: OwnKey }>(r).nodeKey;
    expect(own.fingerprint).toBe(nodeFp(w));
    expect(own.listing).toMatchObject({ status: 'awaiting-admin', version: 1, unlistedNodes: 'refuse', command: `gitbus trust add node w --fingerprint ${nodeFp(w)}` });
    expect(own.listing.why).toContain('no signing key');
    expect(cardKey('w')).toBe(nodePubLine(w));

    const c = await nodeKeyCheck(w);
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('claims nothing until listed');
    expect(c.fix).toContain(`gitbus trust add node w --fingerprint ${nodeFp(w)}`);
    const view = await nodesOf(boss);
    expect(view.awaiting).toEqual([{ node: 'w', fingerprint: nodeFp(w), listed: [], command: `gitbus trust add node w --fingerprint ${nodeFp(w)}` }]);
    const text = await gitbus(['trust', 'list'], { home: boss, env: NO_GIT_KEY });
    expect(text.stdout).toContain('unlisted nodes: refuse');
    expect(text.stdout).toContain(`node keys:\n  boss  ${nodeFp(boss)}`);
    expect(text.stdout).toContain(`awaiting an admin`);
    expect(text.stdout).toContain(`  w  ${nodeFp(w)}`);
  });

  it('trust add node from the card: refused without a terminal or --fingerprint, refused with another fingerprint, listed with the right one', async () => {
    const unconfirmed = await run(['trust', 'add', 'node', 'w', '--key', key('alice')], boss);
    expect(unconfirmed.code).toBe(7);
    expect(errorOf(unconfirmed).code).toBe('NODE_KEY_UNCONFIRMED');
    expect(errorOf(unconfirmed).message).toContain(nodeFp(w));
    expect(errorOf(unconfirmed).fix).toContain(`gitbus trust add node w --fingerprint ${nodeFp(w)}`);

    const wrong = await run(['trust', 'add', 'node', 'w', '--fingerprint', fp('bob'), '--key', key('alice')], boss);
    expect(wrong.code).toBe(5);
    expect(errorOf(wrong).code).toBe('NODE_KEY_MISMATCH');
    expect(errorOf(wrong).message).toContain(`offers ${nodeFp(w)}, not ${fp('bob')}`);
    expect(nodeLines()).toHaveLength(1);

    const added = await admin<{ version: number; status: string; from: string; fingerprint: string }>(['trust', 'add', 'node', 'w', '--fingerprint', nodeFp(w)]);
    expect(added).toMatchObject({ version: 2, status: 'accepted', from: 'card', fingerprint: nodeFp(w) });
    expect(nodeLines()).toEqual([expect.stringContaining(`node:boss `), `node:w namespaces="gitbus-claim@v1,gitbus-release@v1,gitbus-response@v1,gitbus-node@v1" ${nodePubLine(w)} gitbus node w`]);
    expect(await nodeKeyCheck(w)).toMatchObject({ status: 'ok' });
    expect((await nodesOf(w)).awaiting).toEqual([]);
  });

  it('a node rotates its key: doctor says it changed; trust add node replaces the line (one key per node)', async () => {
    const old = nodeFp(w);
    const r = await ok<OwnKey>(['trust', 'node-key', '--rotate'], w);
    expect(r.previous?.fingerprint).toBe(old);
    expect(r.fingerprint).toBe(nodeFp(w));
    expect(r.fingerprint).not.toBe(old);
    expect(r.listing).toMatchObject({ status: 'awaiting-admin', replaces: [old], command: `gitbus trust add node w --fingerprint ${r.fingerprint}` });
    expect(readFileSync(`${r.previous?.path ?? ''}.pub`, 'utf8')).toContain('gitbus node w');
    expect(cardKey('w')).toBe(nodePubLine(w));
    const c = await nodeKeyCheck(w);
    expect(c).toMatchObject({ status: 'fail' });
    expect(c.detail).toContain('the node\'s key changed');
    expect(c.fix).toContain(`gitbus trust add node w --fingerprint ${r.fingerprint}`);
    expect((await nodesOf(boss)).awaiting).toEqual([{ node: 'w', fingerprint: r.fingerprint, listed: [old], command: `gitbus trust add node w --fingerprint ${r.fingerprint}` }]);
    // Until an admin lists the new key, w claims nothing: its claim, signed by a key the version does not list for
    // it, would count as forged everywhere, and the task it ran would run again elsewhere. (Its card, signed by that
    // key, is not shown either: the dispatch to w needs --force.)
    editYaml(boss, (c) => {
      c['signingKey'] = key('alice');
    });
    const task = await ok<{ id: string }>(['dispatch', 'after the rotation', '--to', 'w', '--force', '--command', 'true', '--no-git'], boss);
    const refused = await run(['claim', task.id], w);
    expect(refused.code, refused.stdout).not.toBe(0);
    expect(errorOf(refused).message).toContain(`this node's key ${r.fingerprint} is not the one trust version 2 lists for w (${old})`);
    const status = await ok<{ tasks: { id: string; refusedHere?: string }[] }>(['status'], w);
    const why = status.tasks.find((t) => t.id === task.id)?.refusedHere;
    expect(why).toContain(`this node's key ${r.fingerprint} is not the one trust version 2 lists for w (${old})`);
    expect(why).toContain(`; this node claims nothing until then (an admin checks the fingerprint with you and runs: gitbus trust add node w --fingerprint ${r.fingerprint})`);
    // A key file that is there but cannot be read is said to be so, not to be missing.
    const keyFile = join(w, 'keys', 'node_ed25519');
    const keyText = readFileSync(keyFile);
    writeFileSync(keyFile, 'not a key\n');
    const unreadable = await run(['claim', task.id], w);
    expect(unreadable.code, unreadable.stdout).not.toBe(0);
    expect(errorOf(unreadable).message).toContain(`this node's key ${keyFile} cannot be read`);
    expect(errorOf(unreadable).message).not.toContain('(none in');
    writeFileSync(keyFile, keyText);

    // The admin got the key line from w itself: given as an argument, no card and no prompt needed.
    const rotated = await admin<{ version: number; from: string; replaced: string[] }>(['trust', 'add', 'node', 'w', nodePubLine(w)]);
    expect(rotated).toMatchObject({ version: 3, from: 'key', replaced: [old] });
    expect(nodeLines().filter((l) => l.startsWith('node:w '))).toEqual([expect.stringContaining(nodePubLine(w))]);
    expect(nodeLines()).toHaveLength(2);
    expect(await nodeKeyCheck(w)).toMatchObject({ status: 'ok' });
    await ok(['cancel', task.id], boss);
    editYaml(boss, (c) => {
      delete c['signingKey'];
    });
  });

  it('unlisted-nodes toggles between accept and refuse; remove node takes the key out', async () => {
    expect(await admin<{ version: number; unlistedNodes: string }>(['trust', 'unlisted-nodes', 'accept'])).toMatchObject({ version: 4, unlistedNodes: 'accept' });
    expect(fromBus('trust/policy.yaml')).toContain('unlistedNodes: accept');

    expect(await admin<{ version: number; node: string }>(['trust', 'remove', 'node', 'w'])).toMatchObject({ version: 5, node: 'w' });
    expect(nodeLines().some((l) => l.startsWith('node:w '))).toBe(false);
    const accepted = await nodeKeyCheck(w);
    expect(accepted.status).toBe('warn');
    expect(accepted.detail).toContain('accepts unlisted nodes');

    expect(await admin<{ version: number }>(['trust', 'unlisted-nodes', 'refuse'])).toMatchObject({ version: 6 });
    const refused = await nodeKeyCheck(w);
    expect(refused.status).toBe('fail');
    expect(refused.detail).toContain('claims nothing until listed');
    expect((await nodesOf(boss)).unlistedNodes).toBe('refuse');
  });

  it('a node whose configured signing key is an admin\'s lists itself when it pins; with threshold 2 that is a proposal', async () => {
    // w pins again from scratch (as a node that joined before the root): its key is made anew and offered.
    rmSync(join(w, 'trust-pin.json'));
    rmSync(join(w, 'keys'), { recursive: true });
    editYaml(w, (c) => {
      c['signingKey'] = key('alice');
    });
    const pinned = await ok<{ version: number; nodeKey: OwnKey }>(['trust', 'pin', '--trust', fp('alice')], w);
    expect(pinned.nodeKey).toMatchObject({ created: true, fingerprint: nodeFp(w), listing: { status: 'written', version: 7 } });
    expect(cardKey('w')).toBe(nodePubLine(w));
    expect(nodeLines().filter((l) => l.startsWith('node:w '))).toEqual([expect.stringContaining(nodePubLine(w))]);
    expect(await nodeKeyCheck(w)).toMatchObject({ status: 'ok' });

    await admin(['trust', 'add', 'admin', 'carol', `${key('carol')}.pub`]);
    await admin(['trust', 'threshold', '2']);
    const v = bus.home('v');
    mkdirSync(v);
    writeFileSync(join(bus.dir, 'gitconfig'), `[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = ${key('alice')}\n`);
    const joined = await gitbus(['join', bus.remote, '--node', 'v', '--trust', `${fp('alice')},${fp('carol')}`, '--json'], { home: v, env: { GIT_CONFIG_GLOBAL: join(bus.dir, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' } });
    expect(joined.code, joined.stderr).toBe(0);
    const own = json<{ nodeKey: OwnKey }>(joined).nodeKey;
    expect(own.listing).toMatchObject({ status: 'proposed', version: 10, waitingFor: ['carol'] });
    const text = await gitbus(['trust', 'list'], { home: boss, env: NO_GIT_KEY });
    expect(text.stdout).toContain(`node keys boss ${nodeFp(boss)}, w ${nodeFp(w)}, v ${own.fingerprint}`);
  });

  it('what was written passes gitbus lint, the cards\' keys included, once the proposal listing v counts', async () => {
    // Until carol signs, v is not listed and the bus refuses unlisted nodes: its card reads as forged.
    const before = json<{ problems: { path: string; reason: string }[] }>(await run(['lint'], boss));
    expect(before.problems.map((p) => p.path)).toEqual(['nodes/v.md']);
    expect(before.problems[0]?.reason).toMatch(/lists no key for v and refuses unlisted nodes/);
    const signed = await gitbus(['trust', 'sign', '10', '--key', key('carol'), '--json'], { home: boss });
    expect(signed.code, signed.stderr).toBe(0);
    const r = await run(['lint'], boss);
    expect(r.code, r.stdout).toBe(0);
  });
});
