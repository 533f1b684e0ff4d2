import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InputError } from '../bus/errors.js';
import { SETTINGS_PATH } from '../schemas/layout.js';
import { shellWord } from '../bus/project/shell-word.js';
import { HookExistsError, NotABusCheckoutError, NotARepoError, SharedHooksDirError } from './errors.js';
import { git } from './git.js';
import { HOOK_NAMES, HOOK_PURPOSE, hookScript, isGitbusHook, PREVIOUS_SUFFIX, type CliLocation, type HookName } from './templates.js';

/** A clone of the bus as the hooks see it. */
export interface Checkout {
  /** The top of the work tree. */
  top: string;
  /** Where git looks for hooks here: `git rev-parse --git-path hooks`, which honours core.hooksPath and worktrees. */
  hooksDir: string;
}

/**
 * The work tree containing `dir` and its hooks folder. Throws when `dir` is not in a git work tree, or, with
 * `requireBus`, when the top of that work tree has no gitbus.yaml.
 */
export async function findCheckout(dir: string, requireBus: boolean): Promise<Checkout> {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new InputError(`${abs} is not a folder`, 'give --dir the folder of your clone of the bus');
  const inside = await git(['rev-parse', '--is-inside-work-tree', '--is-bare-repository'], { cwd: abs });
  if (inside.code !== 0) throw new NotARepoError(abs, 'is not inside a git repository');
  const [work, bare] = inside.stdout.toString('utf8').trim().split('\n');
  if (bare === 'true' || work !== 'true') throw new NotARepoError(abs, 'is a bare repository or a git folder, not a clone with a work tree where people commit');
  const topOut = await git(['rev-parse', '--show-toplevel'], { cwd: abs });
  const top = topOut.stdout.toString('utf8').trim();
  if (topOut.code !== 0 || !top) throw new NotARepoError(abs, 'is not inside a git work tree');
  if (requireBus && !existsSync(join(top, SETTINGS_PATH))) throw new NotABusCheckoutError(top, await trackedMain(top));
  const hooks = await git(['rev-parse', '--git-path', 'hooks'], { cwd: top });
  if (hooks.code !== 0) throw new NotARepoError(top, `has no hooks folder git will tell (${hooks.stderr.trim()})`);
  return { top, hooksDir: resolve(top, hooks.stdout.toString('utf8').trim()) };
}

/**
 * A remote-tracking main branch of this clone (`origin/main`), when main is not what is checked out: a plain
 * `git clone` checks out the remote's HEAD, which on a bus made in someone else's repository may be master or
 * trunk while the bus is main.
 */
async function trackedMain(top: string): Promise<string | null> {
  const current = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: top });
  if (current.code === 0 && current.stdout.toString('utf8').trim() === 'main') return null;
  const refs = await git(['for-each-ref', '--format=%(refname:short)', 'refs/remotes/*/main'], { cwd: top });
  if (refs.code !== 0) return null;
  return refs.stdout.toString('utf8').split('\n').find((l) => l.trim() !== '') ?? null;
}

/**
 * The node and CLI that the hooks run: this node (`process.execPath`) and the `bin/gitbus.js` of the gitbus
 * package this code belongs to, found by walking up to its package.json (the code runs bundled in
 * dist/cli/gitbus.mjs, or unbundled from dist/). Falls back to the script this process was started with.
 */
export function locateCli(): CliLocation {
  let dir = import.meta.dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    const bin = join(dir, 'bin', 'gitbus.js');
    if (existsSync(pkg) && existsSync(bin)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'gitbus') return { node: process.execPath, script: realpathSync(bin) };
      } catch {
        // not our package.json; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { node: process.execPath, script: realpathSync(process.argv[1] ?? '') };
}

/** A path with its links resolved, for the part of it that exists (a hooks folder may not exist yet). */
function realPath(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const up = dirname(abs);
    return up === abs ? abs : join(realPath(up), basename(abs));
  }
}

const isWithin = (path: string, folder: string): boolean => path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);

/**
 * Refuses a hooks folder outside the clone — neither under its git folder nor under its work tree — as a global
 * core.hooksPath (`git config --global core.hooksPath ~/.githooks`) gives: every repository of the user runs the
 * hooks there, and gitbus's would refuse or push their commits. A folder of the clone's own (the default, or a
 * relative core.hooksPath such as .githooks) is where they belong.
 */
async function refuseSharedHooksDir(checkout: Checkout): Promise<void> {
  const common = await git(['rev-parse', '--git-common-dir'], { cwd: checkout.top });
  const commonDir = resolve(checkout.top, common.stdout.toString('utf8').trim());
  const hooks = realPath(checkout.hooksDir);
  if (common.code === 0 && (isWithin(hooks, realPath(commonDir)) || isWithin(hooks, realPath(checkout.top)))) return;
  const set = await git(['config', '--show-origin', '--get', 'core.hooksPath'], { cwd: checkout.top });
  const origin = set.code === 0 ? (set.stdout.toString('utf8').split('\t')[0] ?? '').replace(/^file:/, '') : null;
  const top = shellWord(checkout.top);
  let fix = `give this clone a hooks folder of its own: git -C ${top} config core.hooksPath "$(git -C ${top} rev-parse --git-common-dir)/hooks", then run "gitbus hooks install" again`;
  // An earlier gitbus installed into the shared folder: those hooks go first, while this clone still points there.
  const left: string[] = [];
  for (const name of HOOK_NAMES) if (isGitbusHook((await readText(join(checkout.hooksDir, name))) ?? '')) left.push(name);
  if (left.length > 0) fix = `first remove the gitbus hooks an earlier install put there (${left.join(', ')}) with: gitbus hooks uninstall --dir ${top}; then ${fix}`;
  throw new SharedHooksDirError(checkout.hooksDir, checkout.top, origin, fix);
}

export type InstallAction = 'installed' | 'updated' | 'unchanged' | 'chained';

export interface InstalledHook {
  name: HookName;
  path: string;
  action: InstallAction;
  purpose: string;
  /** `chained`: where the hook that was there before now lives; the gitbus hook runs it first. */
  previous?: string;
}

export interface InstallReport {
  top: string;
  hooksDir: string;
  cli: CliLocation;
  hooks: InstalledHook[];
}

async function readText(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined;
  // A dangling link or a folder is someone else's hook all the same.
  return readFile(path, 'utf8').catch(() => '');
}

async function writeExecutable(path: string, text: string): Promise<void> {
  const tmp = `${path}.gitbus-${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, path);
}

/**
 * Writes gitbus's hooks into the checkout containing `dir`. A hook gitbus did not write (no marker line) stops
 * the install — nothing is written — unless `force`, which keeps it as `<name>.pre-gitbus` for the new hook to
 * run first. gitbus's own hooks are rewritten (to pick up a new gitbus or node path).
 */
export async function installHooks(dir: string, opts: { force?: boolean; cli?: CliLocation } = {}): Promise<InstallReport> {
  const checkout = await findCheckout(dir, true);
  await refuseSharedHooksDir(checkout);
  const cli = opts.cli ?? locateCli();
  const plan: { name: HookName; path: string; previous: string; current: string | undefined; text: string }[] = [];
  for (const name of HOOK_NAMES) {
    const path = join(checkout.hooksDir, name);
    plan.push({ name, path, previous: `${path}${PREVIOUS_SUFFIX}`, current: await readText(path), text: hookScript(name, cli) });
  }
  const foreign = plan.filter((p) => p.current !== undefined && !isGitbusHook(p.current));
  if (foreign.length > 0 && !opts.force) {
    throw new HookExistsError(
      foreign.map((p) => p.path),
      'rerun with --force to keep each as <name>.pre-gitbus and run it before gitbus\'s hook (uninstall puts it back), or remove it',
    );
  }
  const clash = foreign.filter((p) => existsSync(p.previous));
  if (clash.length > 0) {
    throw new HookExistsError(
      clash.map((p) => p.path),
      `merge each into its ${PREVIOUS_SUFFIX} file (or delete one of the two) by hand, then install again`,
      `a ${PREVIOUS_SUFFIX} copy of an earlier hook is already there too, so gitbus cannot keep`,
    );
  }
  await mkdir(checkout.hooksDir, { recursive: true });
  const hooks: InstalledHook[] = [];
  for (const p of plan) {
    const hook: InstalledHook = { name: p.name, path: p.path, action: 'installed', purpose: HOOK_PURPOSE[p.name] };
    if (p.current === undefined) hook.action = 'installed';
    else if (!isGitbusHook(p.current)) {
      await rename(p.path, p.previous);
      hook.action = 'chained';
    } else hook.action = p.current === p.text ? 'unchanged' : 'updated';
    if (hook.action !== 'unchanged') await writeExecutable(p.path, p.text);
    if (existsSync(p.previous)) hook.previous = p.previous;
    hooks.push(hook);
  }
  return { top: checkout.top, hooksDir: checkout.hooksDir, cli, hooks };
}

export type UninstallAction = 'removed' | 'restored' | 'absent' | 'foreign';

export interface UninstalledHook {
  name: HookName;
  path: string;
  /** removed: gitbus's hook is gone; restored: and the hook it replaced is back; foreign: not gitbus's, left alone. */
  action: UninstallAction;
}

export interface UninstallReport {
  top: string;
  hooksDir: string;
  hooks: UninstalledHook[];
}

/** Removes gitbus's hooks (only files with the marker) and puts back the hooks `install --force` kept. */
export async function uninstallHooks(dir: string): Promise<UninstallReport> {
  const checkout = await findCheckout(dir, false);
  const hooks: UninstalledHook[] = [];
  for (const name of HOOK_NAMES) {
    const path = join(checkout.hooksDir, name);
    const previous = `${path}${PREVIOUS_SUFFIX}`;
    const current = await readText(path);
    if (current !== undefined && !isGitbusHook(current)) {
      hooks.push({ name, path, action: 'foreign' });
      continue;
    }
    if (current !== undefined) await rm(path, { force: true });
    if (existsSync(previous)) {
      await rename(previous, path);
      hooks.push({ name, path, action: 'restored' });
    } else hooks.push({ name, path, action: current === undefined ? 'absent' : 'removed' });
  }
  return { top: checkout.top, hooksDir: checkout.hooksDir, hooks };
}
