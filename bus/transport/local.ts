import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { appendFile } from '../node-fs-async.js';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileUrlOtherHost } from '../../schemas/file-url.js';
import {
  FileUrlOtherHostError,
  GitServiceError,
  LocalRemoteInvalidError,
  RemoteNotAGitRepositoryError,
  RemoteNotBareError,
  RemoteNotFoundError,
  TransportClosedError,
} from './errors.js';
import { readRefFromDisk, readRefsFromDisk } from './read-refs.js';
import { runGit } from './run-git.js';
import type { GitService, Transport } from './transport.js';
import { joinPlain } from '../join-plain.js';
import { hasUrlScheme } from '../../schemas/text-scan.js';
import { saysNotBare } from './git-config-scan.js';
import { makeFanOutFolders } from '../store/init-clone.js';

export interface LocalTransportOptions {
  /** The git executable; default `git` from PATH. */
  gitPath?: string;
  /** Upper bound for one service process; it is killed after this. Default 120 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** An absolute path or a `file://` URL (host empty or localhost) -> the absolute path, without a trailing slash. */
export function parseLocalRemote(remote: string): string {
  let path: string;
  if (remote.startsWith('file:')) {
    let url: URL;
    try {
      url = new URL(remote);
    } catch {
      throw new LocalRemoteInvalidError(remote, 'not a valid URL');
    }
    // A drive letter where the host goes (file://C:/p) has no hostname for WHATWG but is a host to git: the text decides.
    const other = fileUrlOtherHost(remote);
    if (other) throw new FileUrlOtherHostError(remote, other.host, other.path);
    if (url.hostname !== '' && url.hostname !== 'localhost') throw new LocalRemoteInvalidError(remote, `file URLs on another host (${url.hostname}) are not supported`);
    url.hostname = '';
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new LocalRemoteInvalidError(remote, (err as Error).message);
    }
  } else if (hasUrlScheme(remote)) {
    throw new LocalRemoteInvalidError(remote, 'this is a URL for another transport, not a local path');
  } else {
    // Relative paths would silently depend on the working directory of whichever process runs gitbus.
    if (!isAbsolute(remote)) throw new LocalRemoteInvalidError(remote, 'the path is relative');
    path = remote;
  }
  path = resolvePath(path);
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** Throws one of the transport errors unless `path` looks like a bare repository to git. */
// Synchronous: a few looks at a local folder, which on libuv's thread pool would start its threads for nothing in a
// short command (issue 14; docs/PERFORMANCE.md "A dispatch without zod or yaml").
function checkBareRepo(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') throw new RemoteNotFoundError(path);
    throw err;
  }
  if (!st.isDirectory()) throw new RemoteNotAGitRepositoryError(path, 'not a directory');
  if (existsSync(joinPlain(path, '.git'))) throw new RemoteNotBareError(path);
  for (const required of ['HEAD', 'objects', 'refs']) {
    if (existsSync(joinPlain(path, required))) continue;
    // The folder itself renamed away since it was looked at is a remote gone, not one a person must repair.
    if (!existsSync(path)) throw new RemoteNotFoundError(path);
    // An empty folder (a mount point without its disk) is an outage too.
    if (isEmptyFolder(path)) throw new RemoteNotFoundError(path, 'empty');
    throw new RemoteNotAGitRepositoryError(path, `no ${required}`);
  }
  let config = '';
  try {
    config = readFileSync(joinPlain(path, 'config'), 'utf8');
  } catch {
    // git tolerates a missing config; so do we.
  }
  if (saysNotBare(config)) throw new RemoteNotBareError(path);
}

/** Whether `path` holds nothing (read once a check found it lacks what a repository has: no cost on the usual path). */
function isEmptyFolder(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

/**
 * We serve our own reads of a local remote, so we allow what reading one archived task by its path needs (wants of
 * any object, object filters: bus/archive/path-read.ts) whatever the remote's own config says.
 */
const PATH_READ_CONFIG = ['-c', 'uploadpack.allowFilter=true', '-c', 'uploadpack.allowAnySHA1InWant=true'];

/** A bare repository on this machine or a shared mount, served by spawning git's own pack services. */
export class LocalTransport implements Transport {
  readonly display: string;
  private readonly gitPath: string;
  private readonly timeoutMs: number;
  private readonly running = new Set<ChildProcess>();
  private closed = false;
  /** The bare-repo check, done once on first use; forgotten if it fails so a remounted disk is seen. */
  private checked: Promise<void> | undefined;
  readonly path: string;

  /** `remote`: an absolute path or file:// URL. Checked (exists, git repository, bare) on first use. */
  constructor(remote: string, options: LocalTransportOptions = {}) {
    this.path = parseLocalRemote(remote);
    this.display = this.path;
    this.gitPath = options.gitPath ?? 'git';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Like the constructor, but checks the remote now. */
  static async open(remote: string, options: LocalTransportOptions = {}): Promise<LocalTransport> {
    const t = new LocalTransport(remote, options);
    await t.ready();
    return t;
  }

  /** Resolves once the remote is known to be a bare repository; throws the transport error saying why not. */
  ready(): Promise<void> {
    this.assertOpen();
    if (!this.checked) {
      // A failed check is made again at the next call: the remote may be mounted by then.
      try {
        checkBareRepo(this.path);
      } catch (err) {
        return Promise.reject(err);
      }
      this.checked = Promise.resolve();
    }
    return this.checked;
  }

  listRefs(): Promise<Map<string, string>> {
    return this.whileThere(() => readRefsFromDisk(this.path));
  }

  async readRef(ref: string): Promise<string | null> {
    return (await this.whileThere(() => readRefFromDisk(this.path, ref))) ?? null;
  }

  /** `read` of the remote's files, its failure or an empty answer reported as the remote gone if it vanished meanwhile. */
  private async whileThere<T>(read: () => Promise<T>): Promise<T> {
    await this.ready();
    let value: T;
    try {
      value = await read();
    } catch (err) {
      this.stillThere();
      throw err;
    }
    this.stillThere();
    return value;
  }

  /**
   * A remote that vanished after the first check (an unmounted disk, a renamed folder) must not read as an empty
   * repository: that would look like a bus whose main branch was deleted. Checked after the read, not before: a
   * folder renamed away between a check and the read would read as one without refs (a CI run saw it).
   */
  private stillThere(): void {
    if (!existsSync(join(this.path, 'objects')) || !existsSync(join(this.path, 'HEAD'))) {
      this.checked = undefined;
      throw new RemoteNotFoundError(this.path);
    }
  }

  advertise(service: GitService): Promise<Uint8Array> {
    return this.service(service, ['--stateless-rpc', '--advertise-refs'], undefined);
  }

  rpc(service: GitService, body: Uint8Array): Promise<Uint8Array> {
    return this.service(service, ['--stateless-rpc'], body);
  }

  uploadArchive(body: Uint8Array): Promise<Uint8Array> {
    return this.run('git-upload-archive', ['upload-archive', this.path], body);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.running) child.kill('SIGKILL');
    this.running.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportClosedError(this.display);
  }

  private service(service: GitService, flags: string[], input: Uint8Array | undefined): Promise<Uint8Array> {
    const sub = service === 'git-upload-pack' ? 'upload-pack' : 'receive-pack';
    // `--` is not accepted by these commands; the path is absolute, so it can never be taken for an option.
    return this.run(service, [...(sub === 'upload-pack' ? PATH_READ_CONFIG : []), sub, ...flags, this.path], input);
  }

  /** Runs one of git's services on the remote; everything it printed, or GitServiceError when it failed. */
  private async run(service: string, args: string[], input: Uint8Array | undefined): Promise<Uint8Array> {
    await this.ready();
    const run = await runGit({
      gitPath: this.gitPath,
      args,
      input,
      timeoutMs: this.timeoutMs,
      what: `git ${service.replace(/^git-/, '')}`,
      remote: this.display,
      track: (child, running) => (running ? this.running.add(child) : this.running.delete(child)),
    });
    if (run.exitCode !== 0) {
      throw new GitServiceError({ service, remote: this.display, exitCode: run.exitCode, signal: run.signal, stderr: run.stderr, stdout: run.stdout });
    }
    return run.stdout;
  }
}

/**
 * Create a bare repository whose default branch is main, for use as a shared remote. Uses the git CLI so the
 * config is the one git writes for itself (isomorphic-git's init writes `ignorecase = true`, `filemode = false`
 * whatever the file system, which would mislead people who later use the repo with plain git).
 */
export async function createBareRepo(path: string, options: LocalTransportOptions = {}): Promise<string> {
  const abs = parseLocalRemote(path);
  const gitPath = options.gitPath ?? 'git';
  const run = await runGit({
    gitPath,
    args: ['init', '--quiet', '--bare', '--initial-branch=main', abs],
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    what: 'git init --bare',
    remote: abs,
  });
  if (run.exitCode !== 0) {
    throw new GitServiceError({ service: 'git-init', remote: abs, exitCode: run.exitCode, signal: run.signal, stderr: run.stderr, stdout: run.stdout });
  }
  // The file was just written by git init: appending sections is what git config does.
  await appendFile(join(abs, 'config'), BUS_REMOTE_CONFIG_SECTIONS);
  makeFanOutFolders(abs);
  return abs;
}

/**
 * What a bare repository gitbus creates says for itself: should it later be served over SSH or HTTPS, nodes read one
 * archived task by its path from it (PATH_READ_CONFIG, bus/archive/path-read.ts); and every pack git writes there
 * (received, or made by gc) gets its reverse index (`.rev`, git ≥ 2.41's default), without which every upload-pack
 * exchange builds one in memory for the whole pack: ~17 ms of the host's CPU per exchange at 400,000 objects
 * (docs/PERFORMANCE.md), paid by each fetch and each path read through git's services.
 */
export const BUS_REMOTE_CONFIG_SECTIONS = '[uploadpack]\n\tallowFilter = true\n\tallowAnySHA1InWant = true\n[pack]\n\twriteReverseIndex = true\n';
