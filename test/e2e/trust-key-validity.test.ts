import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';
import { fingerprintOf, makeKeys, NO_GIT_KEY } from '../helpers/ssh-keys.js';
import { contentDigest } from '../../bus/trust/chain-files.js';
import { parsePublicKeyLine } from '../../bus/trust/ssh-key.js';

/**
 * Keys whose allowed_signers line bounds their validity (`valid-before`, `valid-after`; docs/PROTOCOL.md §11), as an
 * admin rotating keys writes them, with real ssh-keygen keys and the CLI as processes. `gitbus trust` writes no such
 * options, so admin alice writes version 2 by hand with ssh-keygen alone (the chain files, the link and its
 * signature): bob's key expired, carol's is not valid yet, and a rule lets both dispatch shell tasks. Worker w pinned
 * the root. A handoff signed by either is refused with the line that stops its key, not as a key trust does not
 * list, and `trust list` shows which keys do not count now.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let keys: string;
const key = (name: string) => join(keys, name);
const pubLine = (name: string) => readFileSync(`${key(name)}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
const ids: Record<string, string> = {};

/** Version 2 as an admin writes it without gitbus: the two files, the link naming version 1, signed with ssh-keygen. */
function handMadeVersion2(): Record<string, string> {
  const from = (path: string) => gitCli(['show', `main:${path}`], bus.remote);
  const signers = `${from('trust/chain/1.allowed_signers')}bob valid-before="20200101Z" ${pubLine('bob')}\ncarol valid-after="20990101Z" ${pubLine('carol')}\n`;
  const policy = from('trust/chain/1.policy.yaml').replace(/^version: 1$/m, 'version: 2').replace(/^rules:\n/m, 'rules:\n  - signers: [bob, carol]\n    runners: [shell]\n    nodes: ["*"]\n');
  const previous = /^digest: (\S+)$/m.exec(from('trust/chain/1.yaml'))?.[1] ?? '';
  const link = `version: 2\ndigest: ${contentDigest(Buffer.from(signers), Buffer.from(policy))}\nprevious: ${previous}\n`;
  const signature = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'gitbus-trust@v1', '-f', key('alice')], { input: `gitbus trust v1\ntrust/chain/2.yaml\n${link}`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
  const tag = parsePublicKeyLine(pubLine('alice')).key.tag;
  return {
    'trust/chain/2.allowed_signers': signers,
    'trust/chain/2.policy.yaml': policy,
    'trust/chain/2.yaml': link,
    [`signatures/trust/chain/2.yaml.${tag}.sig`]: signature,
    'trust/allowed_signers': signers,
    'trust/policy.yaml': policy,
  };
}

function signWith(name: string): void {
  const path = join(boss, 'node.yaml');
  const c = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, stringify({ ...c, signingKey: key(name) }));
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  makeKeys(keys, ['alice', 'bob', 'carol']);
  const init = await gitbus(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept', '--key', key('alice'), '--json'], { home: boss });
  expect(init.code, init.stderr).toBe(0);
  const person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
  pushFiles(person, handMadeVersion2(), 'trust version 2, written by hand');
  w = await bus.addNode('w', [], ['--runner', 'shell', '--trust', fingerprintOf(`${key('alice')}.pub`)]);
  for (const name of ['bob', 'carol']) {
    signWith(name);
    const d = await gitbus(['dispatch', `by ${name}`, '--command', 'true', '--to', 'w', '--json', '--no-git'], { home: boss, env: NO_GIT_KEY });
    expect(d.code, d.stderr).toBe(0);
    ids[name] = json<{ id: string }>(d).id;
  }
}, 60_000);

afterAll(async () => bus?.cleanup());

describe('keys valid only before or after a time', () => {
  it('a handoff signed by an expired key, or one not valid yet, is refused with the line that stops it', async () => {
    const s = json<{ trust: { version: number } | null; tasks: { id: string; untrusted?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    expect(s.trust).toEqual({ version: 2 });
    const untrusted = (id: string | undefined) => s.tasks.find((t) => t.id === id)?.untrusted;
    expect(untrusted(ids['bob'])).toMatch(/^signed by bob \(SHA256:\S+\), whose key trust version 2 lists but does not let it sign handoffs now: line \d+: the key expired at 2020-01-01T00:00:00\.000Z$/);
    expect(untrusted(ids['carol'])).toMatch(/^signed by carol \(SHA256:\S+\), whose key trust version 2 lists but does not let it sign handoffs now: line \d+: the key is not valid before 2099-01-01T00:00:00\.000Z$/);
    const claim = await gitbus(['claim', ids['bob'] ?? '', '--json'], { home: w });
    expect(claim.code).not.toBe(0);
    expect(claim.stdout).toContain('the key expired at 2020-01-01');
  });

  it('trust list shows which keys do not count now, and when they did or will', async () => {
    type Signer = { principals: string[]; validAfter: string | null; validBefore: string | null };
    const list = json<{ accepted: { signers: Signer[] } }>(await gitbus(['trust', 'list', '--json'], { home: w }));
    expect(list.accepted.signers.find((s) => s.principals.includes('bob'))).toMatchObject({ validAfter: null, validBefore: '2020-01-01T00:00:00.000Z' });
    expect(list.accepted.signers.find((s) => s.principals.includes('carol'))).toMatchObject({ validAfter: '2099-01-01T00:00:00.000Z', validBefore: null });
    const text = (await gitbus(['trust', 'list'], { home: w })).stdout;
    expect(text).toMatch(/ {2}bob {2}SHA256:\S+ {2}EXPIRED at 2020-01-01T00:00:00\.000Z: its signatures do not count\n/);
    expect(text).toMatch(/ {2}carol {2}SHA256:\S+ {2}NOT VALID before 2099-01-01T00:00:00\.000Z: its signatures do not count yet\n/);
    expect(text).toMatch(/ {2}alice {2}SHA256:\S+\n/);
  });
});
