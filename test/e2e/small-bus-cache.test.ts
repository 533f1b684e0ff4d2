import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, gitCli, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { readHeaderLine } from '../../bus/store/header-line.js';
import { keepNodeConfigOnDisk } from '../../bus/node-config-cache.js';
import { keepSettingsOnDisk, settingsOnDisk } from '../../bus/model/settings-disk-cache.js';
import type { NodeConfig } from '../../bus/home.js';

// Each command is a process of its own: what one process keeps on disk for the next is the subject.
commandsAsProcesses();

/**
 * A command in a process of its own on a small bus (issue 14, session 38): the parse cache's files were written only
 * for eight new files or more, so on a bus of a few tasks every `status` parsed every handoff and card as YAML, and
 * gitbus.yaml and node.yaml too, each run paying for the YAML parser's cold code. Now the first look of a process at
 * a folder reads its file, a small folder's file is written for one new entry, and gitbus.yaml and node.yaml are kept
 * as parsed: a second `status` parses nothing.
 */
describe('a small bus, read by commands in processes of their own', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let clone: string;
  const cache = (name: string) => join(clone, 'gitbus-cache', name);
  const status = async () => {
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    // How long this observer has watched the remote grows between two runs; it says nothing about parsing.
    return r.stdout.replace(/"windowMs": \d+/g, '"windowMs": 0');
  };
  /** The build id the CLI's caches were written by (the built bundle's, not this test's modules'). */
  const buildOf = (file: string) => readHeaderLine(readFileSync(file), readFileSync(file, 'utf8').split('\n')[0] + '\n')?.header['build'] as string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    clone = join(home, 'clone.git');
    await bus.addNode('beta');
    for (const t of ['one', 'two', 'three']) await bus.dispatch('alpha', [t, '--to', 'beta']);
    // A claimed task: status reads its open claim for the holder's liveness before it lists the tasks.
    const claimed = await gitbus(['claim', '--next', '--json'], { home: bus.home('beta') });
    expect(claimed.code, claimed.stderr).toBe(0);
  });
  afterAll(async () => bus.cleanup());

  it('a second status reads no handoff, claim, card or settings blob: they come from the files the first wrote', async () => {
    const first = await status();
    expect((JSON.parse(first) as { tasks: unknown[] }).tasks).toHaveLength(3);
    for (const f of ['settings.cache', 'node-config.cache']) expect(existsSync(cache(f)), f).toBe(true);
    const blobs = ['handoffs/', 'claims/', 'nodes/', 'gitbus.yaml'].flatMap((p) =>
      gitCli(['--git-dir', clone, 'ls-tree', 'main', p]).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string),
    );
    expect(blobs).toHaveLength(3 + 1 + 2 + 1);
    const loose = (oid: string) => join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
    for (const oid of blobs) unlinkSync(loose(oid));
    // Parsing any of them again would have fetched it back from the remote.
    expect(await status()).toBe(first);
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);
  });

  it('a second claim --next with nothing to claim reads no handoff, claim, card or settings blob either', async () => {
    const claimNext = async () => {
      const r = await gitbus(['claim', '--next', '--json'], { home });
      expect(r.stderr).toMatch(/nothing this node \(alpha\) may claim/);
      return r;
    };
    await claimNext();
    const blobs = ['handoffs/', 'claims/', 'nodes/', 'gitbus.yaml'].flatMap((p) =>
      gitCli(['--git-dir', clone, 'ls-tree', 'main', p]).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string),
    );
    expect(blobs).toHaveLength(3 + 1 + 2 + 1);
    const loose = (oid: string) => join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
    for (const oid of blobs) if (existsSync(loose(oid))) unlinkSync(loose(oid));
    await claimNext();
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);
  });

  it('gitbus.yaml is what its kept parse says, for its blob only', async () => {
    const oid = gitCli(['--git-dir', clone, 'rev-parse', 'main:gitbus.yaml']).trim();
    const build = buildOf(cache('settings.cache'));
    const kept = settingsOnDisk(clone, oid, build);
    expect(kept?.ok).toBe(true);
    if (!kept?.ok) return;
    // Changed in the file: status shows it, so it parsed no gitbus.yaml.
    expect(keepSettingsOnDisk(clone, oid, { ...kept, settings: { ...kept.settings, leaseMs: 123_000 } }, build)).toBe(true);
    expect((JSON.parse(await status()) as { settings: { leaseMs: number } }).settings.leaseMs).toBe(123_000);
    // Another build's file is not used: parsed again (from the remote's blob), and written anew.
    expect(keepSettingsOnDisk(clone, oid, { ...kept, settings: { ...kept.settings, leaseMs: 456_000 } }, 'another-build')).toBe(true);
    expect((JSON.parse(await status()) as { settings: { leaseMs: number } }).settings.leaseMs).toBe(kept.settings.leaseMs);
    expect(buildOf(cache('settings.cache'))).toBe(build);
  });

  it('node.yaml is what its kept parse says while its text is the same, and parsed again once it changes', async () => {
    const text = readFileSync(join(home, 'node.yaml'), 'utf8');
    const build = buildOf(cache('node-config.cache'));
    const node = (out: string) => (JSON.parse(out) as { node: string }).node;
    expect(keepNodeConfigOnDisk(clone, text, { node: 'kept', remote: bus.remote, labels: [], runners: [], parallel: 1 } as NodeConfig, build)).toBe(true);
    expect(node(await status())).toBe('kept');
    // An edit by hand (here a comment) is read: the file's text is the key.
    writeFileSync(join(home, 'node.yaml'), `${text}# edited\n`);
    expect(node(await status())).toBe('alpha');
    // A damaged file is ignored too.
    writeFileSync(cache('node-config.cache'), 'gitbus-node-config\n{"format":1}\n');
    expect(node(await status())).toBe('alpha');
    expect(buildOf(cache('node-config.cache'))).toBe(build);
  });
});
