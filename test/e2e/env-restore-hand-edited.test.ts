import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * `gitbus env restore` of backups edited by hand (or made before a path was never synced): one none of whose entries
 * may be put back restores nothing and says so (ENV_NOTHING_RESTORED, exit 3). Nodes a and b of
 * test/helpers/env-fleet.ts on a real bare remote, fake HOMEs, the CLI.
 */

const fleet = envFleet();
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A backup of b's written as a hand (or an older gitbus) would: `copies` are its saved files, by entry. */
function handBackup(id: string, entries: { target: string; rel?: string; text: string; mode: unknown; written: string | null }[]): void {
  const dir = join(bus.home('b'), 'env', 'backups', id);
  mkdirSync(dir, { recursive: true });
  const rows = entries.map((e, i) => {
    const copy = String(i + 1).padStart(4, '0');
    writeFileSync(join(dir, copy), e.text);
    return { target: e.target, rel: e.rel ?? e.target.slice(2), hash: null, backup: copy, mode: e.mode, written: e.written };
  });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ format: 1, id, profile: 'old', node: 'b', at: '2026-01-01T00:00:00.000Z', reason: 'apply', entries: rows }, null, 2)}\n`);
}

type Listed = { backups: { id: string; restored?: string }[] };

describe('gitbus env restore of a backup edited by hand', () => {
  it('restores nothing when every entry is one it leaves as it is: ENV_NOTHING_RESTORED, exit 3, each with why; the backup stays not restored', async () => {
    // With HOME one folder up, b's bus home is ~/home-b: a path apply would never write, as are ~/.ssh and "..".
    const userHome = bus.dir;
    const own = basename(bus.home('b'));
    const nodeYaml = join(bus.home('b'), 'node.yaml');
    const nodeBefore = readFileSync(nodeYaml, 'utf8');
    const id = '20260101-000000-000';
    handBackup(id, [
      { target: `~/${own}/node.yaml`, text: 'node: mallory\n', mode: 0o644, written: sha(nodeBefore) },
      { target: '~/.ssh/authorized_keys', text: 'ssh-ed25519 AAAA mallory\n', mode: 0o600, written: null },
      { target: '~/x/../HOME-b/escaped', text: 'escaped\n', mode: 0o644, written: null },
    ]);
    const env = { HOME: userHome, GIT_CONFIG_NOSYSTEM: '1' };
    // Named, and as the default (the newest not restored): both times, for it is never marked restored.
    for (const args of [[id], []]) {
      const r = await gitbus(['env', 'restore', ...args, '--json'], { home: bus.home('b'), env });
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(3);
      const e = json<{ error: { code: string; message: string; fix: string; data: { id: string; skipped: { target: string; reason: string }[] } } }>(r).error;
      expect(e.code).toBe('ENV_NOTHING_RESTORED');
      expect(e.message).toMatch(new RegExp(`^nothing was restored from backup ${id}: every file it holds is one restore leaves as it is: `));
      expect(e.fix).toContain('not marked restored');
      expect(e.data.id).toBe(id);
      expect(e.data.skipped).toEqual([
        { target: `~/${own}/node.yaml`, reason: expect.stringMatching(/^never synced: gitbus's bus home in use/) },
        { target: '~/.ssh/authorized_keys', reason: expect.stringMatching(/^never synced: \.ssh holds credentials/) },
        { target: '~/x/../HOME-b/escaped', reason: expect.stringMatching(/^it is not a path in the home folder/) },
      ]);
    }
    const human = await gitbus(['env', 'restore', id], { home: bus.home('b'), env });
    expect(human.code).toBe(3);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`gitbus: nothing was restored from backup ${id}`);
    for (const t of [`~/${own}/node.yaml (never synced`, '~/.ssh/authorized_keys (never synced', '~/x/../HOME-b/escaped (it is not a path']) expect(human.stderr).toContain(t);
    expect(readFileSync(nodeYaml, 'utf8')).toBe(nodeBefore);
    expect(existsSync(join(userHome, '.ssh'))).toBe(false);
    const listed = json<Listed>(await gitbus(['env', 'restore', '--list', '--json'], { home: bus.home('b'), env })).backups;
    expect(listed.find((b) => b.id === id)?.restored).toBeUndefined();
    expect(listed.map((b) => b.id)).toEqual([id]);
  });
});
