import { noSettingsFix } from '../cas.js';
import { cloneIsWhole } from '../clone-repair.js';
import { fs } from '../node-fs.js';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { isoGit } from '../git/iso-git.js';
import { readLooseRef } from '../store/local-ref.js';
import { firstLine, GitbusError } from '../../schemas/errors.js';
import { PROTOCOL_VERSION } from '../../schemas/field-limits.js';
import { homePaths, loadNodeConfig, namedRootsOf, workRootOf, type NodeConfig } from '../home.js';
import { BusRepo, MAIN } from '../repo.js';
import { localPathOf, openTransport } from '../remote.js';
import { findDamage, repairClone } from '../clone-repair.js';
import { asLocalFailure, isDiskFull } from '../local-io.js';
import { Snapshot } from '../model/snapshot.js';
import { KNOWN_PROTOCOL } from '../model/task-view.js';
import { directAccessBlocker } from '../transport/local-direct.js';
import { LocalTransport } from '../transport/local.js';
import { SshTransport } from '../transport/ssh.js';
import { pushRef } from '../git/push.js';
import { PushRejectedError } from '../git/push-errors.js';
import { ZERO_OID } from '../git/oid.js';
import type { Transport } from '../transport/transport.js';
import { fail, ok, skip, warn, type Check } from './doctor-check.js';
import { checkArchiveLayout, checkArchiveReads } from './doctor-archive.js';
import { checkHeartbeats } from './doctor-heartbeats.js';
import { cloneSizeCheck } from './doctor-clone.js';
import { setAsideCheck } from './doctor-set-aside.js';
import { ledgersCheck } from './doctor-ledgers.js';
import { checkClock } from './doctor-clock.js';
import { checkBudget } from './doctor-budget.js';
import { checkProjects } from './doctor-projects.js';
import { checkSshHost, sshChecks } from './doctor-ssh.js';
import { checkTrustRoot } from '../trust/doctor-trust.js';
import { checkEnvProfiles } from '../env/doctor-env.js';
import { checkNodeKey } from '../trust/doctor-node-key.js';
import { checkTrustNodes } from '../trust/doctor-trust-nodes.js';
import { checkTrustSettings } from '../trust/doctor-settings.js';
import { applyTrust } from '../trust/node-files.js';
import { monotonicMs } from '../monotonic.js';

/**
 * `gitbus doctor`: what can be known about this node's setup without changing anything anyone else sees. Every
 * check is a value, never an exception, so one broken part never hides the others.
 */
export type { Check, CheckStatus } from './doctor-check.js';
export interface DoctorReport {
  home: string;
  node: string | null;
  remote: string | null;
  checks: Check[];
  failed: number;
  warned: number;
}

export interface DoctorOptions {
  /** The checks of this node's runners (watcher/doctor-runners.ts; bus/ does not know the runners). */
  runnerChecks?: (config: NodeConfig) => Promise<Check[]>;
  /** A ref listing slower than this is a warning. */
  slowListMs?: number;
  /** A clock difference with the remote larger than this is a warning. */
  maxSkewMs?: number;
  /** An SSH command taking longer than this on the host (the login shell's start-up) is a warning. */
  slowCommandMs?: number;
  /**
   * The home folder environment profiles apply to, or why there is none (the CLI checks $HOME: ENV_HOME_MISSING,
   * then `env.home` fails); without it the env checks are skipped.
   */
  userHome?: () => string;
  /** Checks of this machine that need no node, made by the caller (the CLI's code cache), listed last. */
  localChecks?: Check[];
}

function fixOf(err: unknown, fallback: string): string {
  return err instanceof GitbusError ? err.fix : fallback;
}

/** Names of the checks that need a reachable remote, skipped together when it is not. */
const REMOTE_CHECKS = ['remote.bus', 'remote.protocol', 'remote.push', 'remote.latency', 'remote.archive-reads', 'archive.layout', 'clock', 'heartbeat.self', 'heartbeat.others', 'budget', 'trust.root'];

export async function runDoctor(home: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const slowListMs = options.slowListMs ?? 2_000;
  const maxSkewMs = options.maxSkewMs ?? 60_000;
  const paths = homePaths(home);
  const checks: Check[] = [];
  let config: NodeConfig | undefined;
  const report = (): DoctorReport => {
    const all = [...checks, ...(options.localChecks ?? [])];
    return {
      home,
      node: config?.node ?? null,
      remote: config?.remote ?? null,
      checks: all,
      failed: all.filter((c) => c.status === 'fail').length,
      warned: all.filter((c) => c.status === 'warn').length,
    };
  };

  // The home.
  try {
    config = await loadNodeConfig(home);
    checks.push(ok('home.config', `${paths.config}: node ${config.node}, remote ${config.remote}, runners [${config.runners.join(', ')}]`));
  } catch (err) {
    checks.push(fail('home.config', firstLine(err), fixOf(err, `fix ${paths.config}`)));
  }
  const gitCheck = await checkGitCli(config);
  if (!config) {
    for (const name of ['home.clone', 'remote.reachable', ...REMOTE_CHECKS, 'runners']) checks.push(skip(name, 'no usable node.yaml'));
    checks.push(gitCheck);
    return report();
  }
  // As every command judges it (bus/clone-repair.ts): an objects that is a file is no clone either.
  const cloneOk = cloneIsWhole(paths.clone);
  let localMain: string | null = null;
  if (cloneOk) {
    try {
      // The clone's refs are the loose files gitbus writes: isomorphic-git only for anything else (issue 14).
      const loose = readLooseRef(paths.clone, MAIN);
      localMain = loose !== undefined ? loose : await (await isoGit()).resolveRef({ fs, gitdir: paths.clone, ref: MAIN });
    } catch {
      localMain = null;
    }
  }
  checks.push(setAsideCheck(home));
  checks.push(ledgersCheck(home));
  checks.push(
    cloneOk
      ? ok('home.clone', `${paths.clone}${localMain ? ` (main at ${localMain.slice(0, 12)})` : ' (no main yet)'}`)
      : fail('home.clone', `the clone ${paths.clone} is missing or not a git directory`, `run any gitbus command (gitbus status) with the remote reachable: it clones the bus again, keeping node.yaml and logs`),
  );

  checks.push(checkSpace(home));
  if (cloneOk) checks.push(await cloneSizeCheck(paths.clone));

  // The remote.
  let transport: Transport | undefined;
  let refs: Map<string, string> | undefined;
  let listMs = 0;
  let listedAt = 0;
  try {
    transport = await openTransport(config.remote, home);
    const t0 = monotonicMs();
    refs = await transport.listRefs();
    listMs = monotonicMs() - t0;
    listedAt = Date.now();
    checks.push(ok('remote.reachable', `${transport.display}: ${refs.size} ref(s)`));
    if (transport instanceof SshTransport) checks.push(...sshChecks(transport));
  } catch (err) {
    checks.push(fail('remote.reachable', firstLine(err).includes(config.remote) ? firstLine(err) : `${config.remote}: ${firstLine(err)}`, fixOf(err, `check remote in ${paths.config}`)));
  }
  if (!transport || !refs) {
    checks.push(await checkObjects(paths.clone, localMain, null));
    for (const name of REMOTE_CHECKS) checks.push(skip(name, 'the remote is not reachable'));
    if (options.userHome !== undefined) checks.push(...(await checkEnvProfiles(paths.home, config, null, options.userHome)));
    checks.push(...(await runnerChecks(options, config)), checkWorkRoots(home, config), ...(await checkProjects(home, config)), gitCheck);
    await transport?.close();
    return report();
  }
  const repo = new BusRepo(paths.clone, transport);
  try {
    if (cloneOk) {
      const objects = await checkObjects(paths.clone, localMain, repo).catch((raw: unknown) => {
        const err = asLocalFailure(raw, home);
        return fail('home.objects', firstLine(err), fixOf(err, 'run "gitbus doctor" again'));
      });
      checks.push(objects);
    }
    const main = refs.get(MAIN) ?? null;
    let snap: Snapshot | null = null;
    if (!main) {
      checks.push(fail('remote.bus', `${transport.display} has no ${MAIN}: it is not a gitbus bus`, `check remote in ${paths.config}, or create a bus there with "gitbus init --remote ${config.remote}"`));
    } else if (!cloneOk) {
      checks.push(skip('remote.bus', 'no clone to read the bus with'));
    } else {
      try {
        snap = await Snapshot.read(repo.store, await repo.sync(MAIN));
        // As every command that decides: on a node that enforces trust, the version's lease and heartbeat count.
        // A trust root that cannot be read is trust.root's to report.
        await applyTrust(snap, { paths, config }).catch(() => null);
        const missing = snap.settingsProblems.find((p) => p.path === 'gitbus.yaml' && p.reason === 'missing');
        const notAFile = snap.index.problems.find((p) => p.path === 'gitbus.yaml');
        checks.push(
          missing
            ? fail('remote.bus', `${MAIN} at ${main.slice(0, 12)} has no gitbus.yaml: not a gitbus bus`, noSettingsFix(paths.config, transport.display, main))
            : notAFile
              ? fail('remote.bus', `${MAIN} at ${main.slice(0, 12)}: ${notAFile.reason}`, notAFile.fix)
              : ok('remote.bus', `${MAIN} at ${main.slice(0, 12)} with gitbus.yaml${snap.settings.name ? ` (${snap.settings.name})` : ''}`),
        );
      } catch (err) {
        checks.push(fail('remote.bus', `could not read ${MAIN}: ${firstLine(err)}`, fixOf(err, 'run "gitbus status" for details')));
      }
    }
    if (!snap) checks.push(skip('remote.protocol', 'the bus could not be read'));
    else if (snap.settings.protocol > KNOWN_PROTOCOL)
      checks.push(fail('remote.protocol', `the bus uses protocol ${snap.settings.protocol}; this gitbus knows ${KNOWN_PROTOCOL}`, 'upgrade gitbus on this node'));
    else {
      const other = snap.settingsProblems.filter((p) => p.severity === 'error');
      checks.push(
        other.length
          ? warn('remote.protocol', `protocol ${snap.settings.protocol}, but gitbus.yaml has problems: ${other.map((p) => `${p.field || p.path}: ${p.reason}`).join('; ')}`, other[0]?.fix ?? 'run "gitbus lint"')
          : ok('remote.protocol', `protocol ${snap.settings.protocol} (this gitbus writes ${PROTOCOL_VERSION})`),
      );
    }

    checks.push(await checkPush(repo, config.node, main));
    checks.push(listMs > slowListMs ? warn('remote.latency', `a ref listing took ${Math.round(listMs)} ms`, 'every claim and poll lists refs: check the network or mount to the remote') : ok('remote.latency', `a ref listing took ${listMs < 10 ? listMs.toFixed(1) : Math.round(listMs)} ms`));
    const archiveReads = await checkArchiveReads(transport);
    checks.push(archiveReads);
    checks.push(await checkArchiveLayout(repo, refs, archiveReads.status === 'ok', snap));
    if (transport instanceof SshTransport) checks.push(...(await checkSshHost(transport, maxSkewMs, options.slowCommandMs ?? 50)));
    else checks.push(await checkClock(transport, config.node, maxSkewMs));
    checks.push(...(await checkHeartbeats(repo, paths.home, config, refs, listedAt, snap)));
    checks.push(await checkBudget(paths.home, refs, listedAt, snap, repo.localRemotePath() !== null));
    checks.push(await checkTrustRoot(paths.home, config, snap));
    checks.push(await checkNodeKey(paths.home, config, snap));
    checks.push(await checkTrustNodes(paths.home, config, snap));
    checks.push(checkTrustSettings(snap));
    if (options.userHome !== undefined) checks.push(...(await checkEnvProfiles(paths.home, config, snap, options.userHome)));
  } finally {
    await repo.close();
  }
  checks.push(...(await runnerChecks(options, config)), checkWorkRoots(home, config), ...(await checkProjects(home, config)), gitCheck);
  return report();
}

/** Free space under the home: on a full disk every command that writes fails with DISK_FULL. */
function checkSpace(home: string, lowBytes = 16 * 1024 * 1024): Check {
  const name = 'home.space';
  let free: number;
  try {
    const s = fs.statfsSync(home);
    free = s.bavail * s.bsize;
  } catch (err) {
    return skip(name, `could not measure the free space under ${home}: ${firstLine(err)}`);
  }
  const mb = (free / 1024 / 1024).toFixed(1);
  if (free < lowBytes) return fail(name, `${mb} MiB free on the file system holding ${home}`, `free space there (df -h ${home}): gitbus needs room for its clone, task logs and results`);
  return ok(name, `${mb} MiB free under ${home}`);
}

/**
 * The clone's objects for main's tree must be readable, as every command reads them. Damaged ones are fetched
 * again here as any command would (bus/clone-repair.ts), so doctor and the commands agree.
 */
async function checkObjects(gitdir: string, localMain: string | null, repo: BusRepo | null): Promise<Check> {
  const name = 'home.objects';
  if (!localMain) return skip(name, 'the clone has no main yet (the next command fetches it)');
  const damage = await findDamage(gitdir, localMain);
  if (damage.length === 0) return ok(name, `main's tree at ${localMain.slice(0, 12)} is readable`);
  const listed = `${damage.length} damaged object(s) in ${gitdir}: ${damage.slice(0, 3).map((d) => `${d.oid.slice(0, 12)} (${d.problem})`).join(', ')}`;
  if (!repo) return fail(name, listed, 'make the remote reachable: the next command (or doctor) fetches them again');
  try {
    await repairClone(repo, null);
    const head = (await repo.localHead(MAIN)) ?? localMain;
    const left = await findDamage(gitdir, head);
    if (left.length === 0) return warn(name, `${listed}; fetched again from the remote`, 'nothing left to do; if this recurs, check the disk holding the bus home');
    return fail(name, `${listed}; ${left.length} still damaged after fetching again`, `move ${gitdir} aside and join the bus again in a fresh home`);
  } catch (err) {
    return fail(name, `${listed}; fetching them again failed: ${firstLine(err)}`, fixOf(err, 'make the remote reachable and run doctor again'));
  }
}

/** The named work roots of node.yaml must exist: gitbus never creates them, and a task sent to a missing one fails. */
function checkWorkRoots(home: string, config: NodeConfig): Check {
  const name = 'work.roots';
  const roots = namedRootsOf(home, config);
  const base = `default ${workRootOf(home, config)}`;
  if (roots.size === 0) return ok(name, `${base} (made when first used); no named roots`);
  const missing = [...roots].filter(([, path]) => !fs.existsSync(path) || !fs.statSync(path).isDirectory());
  const all = [...roots].map(([n, path]) => `${n} = ${path}`).join(', ');
  if (missing.length === 0) return ok(name, `${base}; ${all}`);
  return warn(name, `${base}; missing: ${missing.map(([n, path]) => `${n} (${path})`).join(', ')}`, `create ${missing.length === 1 ? 'that folder' : 'those folders'}, or correct workRoots in ${homePaths(home).config}: tasks whose workdir starts with ${missing.map(([n]) => `"${n}/"`).join(', ')} fail here`);
}

async function runnerChecks(options: DoctorOptions, config: NodeConfig): Promise<Check[]> {
  if (!options.runnerChecks) return [];
  try {
    return await options.runnerChecks(config);
  } catch (err) {
    return [fail('runners', `the runner checks failed: ${firstLine(err)}`, 'this is a bug in gitbus; please report it')];
  }
}

/**
 * Whether this node may change the remote, proven without changing anything another node sees: for a remote
 * written directly, the direct-access check and a temporary file in its objects folder; otherwise a push through
 * the remote's own receive-pack of main's commit to the scratch ref refs/gitbus/doctor/<node>, deleted at once
 * (it needs no objects, and hooks and permissions judge it as they judge any push).
 */
async function checkPush(repo: BusRepo, node: string, main: string | null): Promise<Check> {
  const name = 'remote.push';
  const t = repo.transport;
  if (t instanceof LocalTransport) {
    const blocker = await directAccessBlocker(t.path);
    if (blocker === null) {
      const probe = join(t.path, 'objects', `.gitbus-doctor-${node}-${process.pid}.tmp`);
      try {
        fs.writeFileSync(probe, 'gitbus doctor write probe\n');
        fs.rmSync(probe, { force: true });
        return ok(name, `direct access: ${t.path} is writable (wrote and removed a file in objects/)`);
      } catch (err) {
        const full = isDiskFull(err);
        return fail(
          name,
          `cannot write in ${join(t.path, 'objects')}: ${full ? 'no space left on the device holding it' : firstLine(err)}`,
          full ? `free space on the file system holding the remote (df -h ${t.path})` : `give this user write access to ${t.path} (owner, group, or the mount's options)`,
        );
      }
    }
    if (!main) return skip(name, `direct access is off (${blocker}) and the remote has no ${MAIN} to push`);
    return pushProbe(repo, node, main, `direct access is off (${blocker}); `);
  }
  if (!main) return skip(name, `the remote has no ${MAIN} to push`);
  return pushProbe(repo, node, main, '');
}

async function pushProbe(repo: BusRepo, node: string, main: string, prefix: string): Promise<Check> {
  const name = 'remote.push';
  const ref = `refs/gitbus/doctor/${node}`;
  const push = (oldOid: string, newOid: string) => pushRef({ fs, gitdir: repo.gitdir, cache: repo.store.cache, transport: repo.transport, ref, oldOid, newOid, oids: [], objects: [] });
  try {
    await push(ZERO_OID, main);
  } catch (err) {
    if (err instanceof PushRejectedError) {
      const messages = String(err.data['messages'] ?? '').trim();
      return fail(name, `${prefix}the remote refused a push (${err.kind}): ${err.reason}${messages ? `; remote says: ${messages.split('\n').join(' | ')}` : ''}`, err.kind === 'hook' ? 'a hook on the remote refuses pushes: change the hook, or ask whoever runs the remote to allow this node' : err.fix);
    }
    return fail(name, `${prefix}a test push failed: ${firstLine(err)}`, fixOf(err, 'check that the remote is reachable and writable'));
  }
  try {
    await push(main, ZERO_OID);
  } catch (err) {
    return warn(name, `${prefix}a test push to ${ref} worked, but deleting it failed: ${firstLine(err)}`, `delete the ref by hand: git push ${repo.transport.display} :${ref}`);
  }
  return ok(name, `${prefix}a test push to ${ref} was accepted (and deleted)`);
}

function checkGitCli(config: NodeConfig | undefined): Promise<Check> {
  let needed = true;
  try {
    needed = config === undefined || localPathOf(config.remote) !== null;
  } catch {
    // an unusable remote is reported by remote.reachable
  }
  return new Promise((resolve) => {
    execFile('git', ['--version'], { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => {
      if (!err) return resolve(ok('git', stdout.trim()));
      const detail = `git --version failed: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no "git" on PATH' : firstLine(err)}`;
      const fix = 'install git (e.g. "apt install git", "brew install git", or the Xcode command line tools) and make sure it is on PATH';
      resolve(needed ? fail('git', `${detail}; gitbus needs it for local remotes and hooks`, fix) : warn('git', `${detail}; gitbus needs it for hooks`, fix));
    });
  });
}
