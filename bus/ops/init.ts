import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir, rm } from '../node-fs-async.js';
import { initBareClone } from '../store/init-clone.js';
import { renderBusFile, renderSettings } from '../../schemas/bus-file.js';
import { isLabel, isNodeName, LABEL_RE, NODE_NAME_RE } from '../../schemas/ids.js';
import { jsonSchemaFiles } from '../../schemas/json-schema.js';
import { pathFor } from '../../schemas/layout.js';
import { DEFAULT_SETTINGS, settingsRules } from '../../schemas/settings.js';
import { RUNNERS } from '../../schemas/field-limits.js';
import { formatDuration, parseDuration } from '../../schemas/duration.js';
import { PushRejectedError } from '../git/push-errors.js';
import { BusExistsError, HomeInUseError, InputError, InvalidNameError, NotABusError } from '../errors.js';
import { checkHomeIsNoRepository, homeHasNode, homePaths, loadNodeConfig, saveNodeConfig, type NodeConfig } from '../home.js';
import { nodeCard, defaultNodeName, withoutRunners } from '../node-card.js';
import { localPathOf, normalizeRemote, openTransport } from '../remote.js';
import { RemoteNotFoundError } from '../transport/errors.js';
import { SshTransport } from '../transport/ssh.js';
import { BusRepo, MAIN } from '../repo.js';
import { buildCommit, type FileChange } from '../store/objects.js';
import { createBareRepo } from '../transport/local.js';
import { readRefFromDisk } from '../transport/read-refs.js';
import { busReadme } from './bus-readme.js';

export interface InitOptions {
  /** The shared remote; absent = the embedded default, a bare repo inside the bus home. */
  remote?: string;
  node?: string;
  labels?: string[];
  /** Runners this node's watcher may use (none by default). */
  runners?: NodeConfig['runners'];
  /** Runners of `runners` whose program this machine lacks: kept in node.yaml, left off the card (as JoinOptions). */
  unavailable?: readonly string[];
  parallel?: number;
  lease?: string;
  heartbeat?: string;
  poll?: string;
  maxAttempts?: number;
  name?: string;
  now?: Date;
}

export interface InitResult {
  home: string;
  node: string;
  remote: string;
  embedded: boolean;
  /** Whether init made the remote repository (a missing local path, or over SSH with `git init` on the host). */
  remoteCreated: boolean;
  commit: string;
}

export function checkNodeOptions(node: string, labels: string[], runners: readonly string[] = []): void {
  for (const r of runners) if (!(RUNNERS as readonly string[]).includes(r)) throw new InvalidNameError('runner', r, `one of ${RUNNERS.join(', ')}`);
  if (!isNodeName(node)) throw new InvalidNameError('node name', node, `lower-case letters, digits, "-" and "_", at most 40 characters (${NODE_NAME_RE.source})`);
  for (const l of labels) if (!isLabel(l)) throw new InvalidNameError('label', l, `lower-case letters, digits and "_.:-", at most 40 characters (${LABEL_RE.source})`);
}

/** A heartbeat a third of the lease (at most the default 30 s), so that two beats can be missed before expiry. */
export function defaultHeartbeat(lease: string): string {
  return formatDuration(Math.max(1000, Math.min(parseDuration(DEFAULT_SETTINGS.heartbeat), Math.floor(parseDuration(lease) / 3))));
}

/** Creates a new bus: the remote (if it is a local path that does not exist yet), its first commit, and this node. */
export async function initBus(home: string, opts: InitOptions = {}): Promise<InitResult> {
  const paths = homePaths(home);
  if (homeHasNode(home)) throw new HomeInUseError(home, (await loadNodeConfig(home).catch(() => ({ node: '?' }))).node);
  checkHomeIsNoRepository(home, 'init');
  const node = opts.node ?? defaultNodeName();
  const labels = opts.labels ?? [];
  checkNodeOptions(node, labels, opts.runners);
  for (const [flag, value] of [['--lease', opts.lease], ['--heartbeat', opts.heartbeat], ['--poll', opts.poll]] as const) {
    if (value === undefined) continue;
    try {
      if (parseDuration(value) <= 0) throw new Error('zero');
    } catch {
      throw new InputError(`${flag} "${value}" is not a positive duration`, 'write it like 30s, 5m or 2h');
    }
  }
  if (opts.maxAttempts !== undefined && (opts.maxAttempts < 1 || opts.maxAttempts > 100)) throw new InputError(`--max-attempts ${opts.maxAttempts} is out of range`, 'give a whole number from 1 to 100');
  const settings = {
    ...DEFAULT_SETTINGS,
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.lease ? { lease: opts.lease, heartbeat: opts.heartbeat ?? defaultHeartbeat(opts.lease) } : {}),
    ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
    ...(opts.poll ? { poll: opts.poll } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  };
  // What `lint` and `doctor` would warn about in gitbus.yaml is refused here, before anything is made: a bus whose
  // claims expire between heartbeats, or whose dead nodes are never expired, is not one to start with.
  const rule = settingsRules(settings)[0];
  if (rule) throw new InputError(`--${rule.field} ${settings[rule.field as 'heartbeat' | 'lease' | 'poll']}: ${rule.reason}`, rule.fix.replace(/\b(lease|heartbeat|poll) (\d)/g, '--$1 $2'), { flag: `--${rule.field}` });
  const embedded = opts.remote === undefined;
  const remote = embedded ? paths.embeddedRemote : normalizeRemote(opts.remote as string);
  const created: string[] = [];
  try {
    await mkdir(home, { recursive: true });
    const local = localPathOf(remote);
    let remoteCreated = false;
    if (local && !existsSync(local)) {
      await createBareRepo(local);
      created.push(local);
      remoteCreated = true;
    }
    const transport = await openTransport(remote, home);
    const repo = new BusRepo(paths.clone, transport);
    try {
      await initBareClone(paths.clone);
      created.push(paths.clone);
      let head: string | null;
      try {
        head = await repo.remoteHead();
      } catch (err) {
        // A missing repository over SSH is made like a missing local one, when the account may run git there.
        if (!(transport instanceof SshTransport && err instanceof RemoteNotFoundError)) throw err;
        await transport.createBareRepo();
        remoteCreated = true;
        head = await repo.remoteHead();
      }
      if (head) {
        await repo.sync();
        const rootTree = await repo.store.readTree(await repo.store.readCommitTree(head));
        if (rootTree.some((e) => e.path === 'gitbus.yaml')) throw new BusExistsError(remote);
        throw new NotABusError(remote, 'its main branch already has commits that are not a bus', 'a bus needs the main branch to itself (other branches may stay): use another repository, or move that work to another branch and delete main there first (git push URL main:old-main && git push URL :main, from a clone)');
      }
      const now = opts.now ?? new Date();
      const config: NodeConfig = { node, remote, labels, runners: opts.runners ?? [], parallel: opts.parallel ?? 1 };
      const changes: FileChange[] = [
        { path: 'gitbus.yaml', content: renderSettings(settings) },
        { path: 'README.md', content: busReadme(opts.name ?? 'gitbus') },
        { path: pathFor({ kind: 'node', node }), content: renderBusFile('node', nodeCard(withoutRunners(config, opts.unavailable), now.toISOString(), now), '') },
      ];
      for (const [file, text] of jsonSchemaFiles()) changes.push({ path: `schemas/${file}`, content: text });
      const built = await buildCommit(repo.store, { parent: null, changes, message: `gitbus: init bus${opts.name ? ` ${opts.name}` : ''}, node ${node}`, author: { name: node, email: `${node}@gitbus.invalid` }, now });
      try {
        await repo.push(null, built);
      } catch (err) {
        if (err instanceof PushRejectedError && err.data['kind'] === 'stale') throw new BusExistsError(remote);
        throw err;
      }
      if (local) await pointHeadAtMain(local);
      await saveNodeConfig(home, config);
      return { home, node, remote, embedded, remoteCreated, commit: built.oid };
    } finally {
      await repo.close();
    }
  } catch (err) {
    // Leave nothing half-made behind: a failed init can simply be run again.
    for (const dir of created.reverse()) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A local remote made by hand (`git init --bare`) names `master` (or whatever init.defaultBranch says) as its HEAD,
 * which the bus never makes: a person's `git clone URL` then checks nothing out ("remote HEAD refers to nonexistent
 * ref"). Pointed at main when it names a branch the remote does not have; a HEAD naming a branch that exists (the
 * repository's other work) is left as it is. Over SSH or HTTPS the host's default branch is the host's to set.
 */
async function pointHeadAtMain(gitDir: string): Promise<void> {
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const named = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
    if (named === undefined || named === MAIN || (await readRefFromDisk(gitDir, named)) !== undefined) return;
    writeFileSync(join(gitDir, 'HEAD'), `ref: ${MAIN}\n`);
  } catch {
    // A HEAD that cannot be read or written: the bus works without it; only a plain clone's checkout needs it.
  }
}
