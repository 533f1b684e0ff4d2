import { mkdir } from './node-fs-async.js';
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { homedir } from './user-home-dir.js';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { problemsFromIssues } from '../schemas/field-problems.js';
import { nodeConfigSchema, type NodeConfig } from '../schemas/node-config.js';
import { BadSettingsError, InputError, NoBusError } from './errors.js';
import { LocalIoError, writeFileAtomic } from './local-io.js';
import { keepNodeConfigOnDisk, nodeConfigOnDisk } from './node-config-cache.js';
import { joinPlain } from './join-plain.js';

/**
 * The bus home (default ~/.gitbus) holds one node: its settings, its clone of the bus and, for the embedded
 * default, the bus remote itself. Several homes on one machine are several nodes.
 */
export interface HomePaths {
  home: string;
  config: string;
  clone: string;
  embeddedRemote: string;
  logs: string;
}

export function resolveHome(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  // An empty --home is a script's unset variable ("--home $H"), not a wish for the user's own bus home, which it
  // would then create or use. (An empty GITBUS_HOME reads as unset, as environment variables do.)
  if (explicit === '') throw new InputError('--home is empty', 'give --home the bus home folder, or leave --home out for the default (~/.gitbus, or GITBUS_HOME)', { flag: '--home', value: '' });
  const chosen = explicit ?? env['GITBUS_HOME'];
  const home = resolve(chosen && chosen.length > 0 ? chosen : join(homedir(), '.gitbus'));
  const exists = existsSync(home);
  // A file where the home should be would surface later as a bare ENOTDIR/EEXIST from deep inside a command.
  if (exists && !statSync(home).isDirectory()) {
    const source = explicit !== undefined ? '--home' : env['GITBUS_HOME'] ? 'GITBUS_HOME' : 'the default bus home';
    throw new InputError(`${source}: ${home} is not a folder`, 'give --home (or GITBUS_HOME) a folder for the bus home, or one that does not exist yet', { flag: source, value: home });
  }
  // A link to a folder that is not there (a disk not mounted): named as such, where init's mkdir failed with a bare
  // ENOENT and a reading command said there is no bus.
  const target = exists ? null : brokenLinkTarget(home);
  if (target !== null) throw new LocalIoError(home, 'open the bus home', 'ENOENT', `a symbolic link to ${target}, which cannot be reached (not there: a disk not mounted, a folder moved; or a loop of links)`);
  return home;
}

/** What `path` links to when it is a symbolic link whose target is missing; null otherwise. */
function brokenLinkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    config: joinPlain(home, 'node.yaml'),
    clone: joinPlain(home, 'clone.git'),
    embeddedRemote: joinPlain(home, 'remote.git'),
    logs: joinPlain(home, 'logs'),
  };
}

export { nodeConfigSchema, nodePolicySchema, type NodeConfig } from '../schemas/node-config.js';

export async function loadNodeConfig(home: string): Promise<NodeConfig> {
  const paths = homePaths(home);
  let text: string;
  try {
    // Read at once, not on libuv's thread pool: a short command that reads its few small files this way never starts
    // the pool's threads (issue 14; docs/PERFORMANCE.md "A dispatch without zod or yaml").
    text = readFileSync(paths.config, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NoBusError(home);
    throw new BadSettingsError(paths.config, `cannot be read (${code ?? (err as Error).message})`, `check that this user may read ${paths.config} and its folder`);
  }
  const kept = nodeConfigOnDisk(paths.clone, text);
  if (kept) return kept;
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true, maxAliasCount: 10 });
  } catch (err) {
    throw new BadSettingsError(paths.config, `not valid YAML: ${(err as Error).message.split('\n')[0]}`, `fix the file (it needs at least "node: NAME" and "remote: URL"), or move ${home} aside and run "gitbus join URL --node NAME --home ${home}"`);
  }
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BadSettingsError(
      paths.config,
      raw === null || raw === undefined ? 'the file is empty (cut short, perhaps by a full disk or a crash)' : 'not a mapping of settings',
      `write the node's settings into it, at least "node: NAME" and "remote: URL" (another node's node.yaml shows the rest), or move ${home} aside and run "gitbus join URL --node NAME --home ${home}"`,
    );
  }
  const parsed = nodeConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // Named as bus files are (the field, what was expected, what was found, a fix): node.yaml is the file people
    // edit by hand most. The first problem leads; the others are counted and named, so one run shows them all.
    const problems = problemsFromIssues(paths.config, nodeConfigSchema, parsed.error.issues);
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 6).map((p) => `"${p.field}" ${p.reason}`).join('; ')}${problems.length > 6 ? '; ...' : ''})` : '';
    if (first === undefined) throw new BadSettingsError(paths.config, 'does not hold valid node settings', `correct it, or move ${home} aside and run "gitbus join URL --node NAME --home ${home}"`);
    const missing = first.reason.startsWith('the required field');
    throw new BadSettingsError(
      paths.config,
      missing ? `field "${first.field}" is missing (the file may have been cut short)${more}` : `field "${first.field}": ${first.reason}${more}`,
      missing ? `add "${first.field}: ..." to ${paths.config} (node: this node's name, remote: the bus URL)` : `${first.fix}, in ${paths.config}`,
    );
  }
  keepNodeConfigOnDisk(paths.clone, text, parsed.data);
  return parsed.data;
}

export async function saveNodeConfig(home: string, config: NodeConfig): Promise<void> {
  const paths = homePaths(home);
  await mkdir(home, { recursive: true });
  await writeFileAtomic(paths.config, `# gitbus node settings (this machine only; see README)\n${stringify(config)}`);
}

/** Where this node keeps its cached clones of project repositories and the worktrees of tasks (docs/ARCHITECTURE.md). */
export function projectPaths(home: string): { cache: string; worktrees: string } {
  return { cache: join(home, 'projects'), worktrees: join(home, 'worktrees') };
}

export function workRootOf(home: string, config: NodeConfig): string {
  return resolve(home, expandHome(config.workRoot ?? 'work'));
}

/** The named work roots of node.yaml (`workRoots`), as absolute paths. */
export function namedRootsOf(home: string, config: NodeConfig): Map<string, string> {
  return new Map(Object.entries(config.workRoots ?? {}).map(([name, path]) => [name, resolve(home, expandHome(path))]));
}

/** `~` and `~/…` are the user's home directory, as a person writing node.yaml means them. */
function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

export function homeHasNode(home: string): boolean {
  return existsSync(homePaths(home).config);
}

/**
 * A home about to be made (init, join) that is a git repository's own folder (a bare repository, or a `.git`): a
 * person gave the bus's remote, or a project's, as --home. Its clone, node.yaml and logs would be written among the
 * repository's own files, and `init` would make its embedded remote inside it.
 */
export function checkHomeIsNoRepository(home: string, command: 'init' | 'join'): void {
  if (!['HEAD', 'objects', 'refs'].every((name) => existsSync(join(home, name)))) return;
  const fix =
    command === 'init'
      ? `give --home (or GITBUS_HOME) a folder of its own, such as ~/.gitbus; to make the bus in this repository, name it as the remote: gitbus init --remote ${home}`
      : `give --home (or GITBUS_HOME) a folder of its own, such as ~/.gitbus; the bus's remote is the URL: gitbus join URL`;
  throw new InputError(`the home ${home} is a git repository (it holds HEAD, objects and refs), not a folder for a node`, fix, { flag: '--home', home });
}
