import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { fail, ok, skip, type Check } from '../../bus/ops/doctor-check.js';
import { GitbusError } from '../../schemas/errors.js';
import { RUNNERS, type RunnerName } from '../../schemas/field-limits.js';
import { checkRunners } from '../doctor-runners.js';
import { shellQuote } from './manager.js';
import { serviceEnvironment } from './read-service.js';
import { runnerBinary, whichOn } from './service-path.js';
import { otherHomeOf, serviceTarget, type ServiceOptions, type ServiceTarget } from './service.js';

/**
 * `gitbus doctor --service`: the runner checks under the environment the installed service gives the watcher,
 * read back from its unit file or plist, so that a runner the user's shell finds but the service does not is
 * found before a task fails on it.
 */

/** What the manager itself passes on before the file's own variables (PATH only when the file sets none). */
function managerBase(t: ServiceTarget, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const k of ['HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'XDG_RUNTIME_DIR']) if (env[k] !== undefined) base[k] = env[k];
  base['PATH'] = t.manager === 'systemd' ? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin' : '/usr/bin:/bin:/usr/sbin:/sbin';
  return base;
}

/** The same program reached through a symbolic link (/bin -> /usr/bin) is the same program. */
function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function runnerOf(checkName: string): RunnerName | null {
  const r = checkName.split('.')[1];
  return (RUNNERS as readonly string[]).includes(r ?? '') ? (r as RunnerName) : null;
}

function reloadHint(t: ServiceTarget): string {
  return t.manager === 'systemd' ? `, then "systemctl --user daemon-reload && systemctl --user restart ${t.name}"` : `, then "launchctl bootout gui/$(id -u)/${t.name}; launchctl bootstrap gui/$(id -u) ${shellQuote(t.file)}"`;
}

export async function checkService(home: string, config: NodeConfig, opts: ServiceOptions = {}): Promise<Check[]> {
  const env = opts.env ?? process.env;
  let t: ServiceTarget;
  try {
    t = serviceTarget(home, config.node, opts);
  } catch (err) {
    if (!(err instanceof GitbusError)) throw err;
    return [fail('service.file', err.message, err.fix), skip('service.runners', 'no service file to read')];
  }
  const install = `gitbus service install --home ${shellQuote(home)}`;
  if (!existsSync(t.file)) return [fail('service.file', `no service is installed for node ${config.node} (no ${t.file})`, `run "${install}"`), skip('service.runners', 'no service file to read')];
  let text: string;
  try {
    text = readFileSync(t.file, 'utf8');
  } catch (err) {
    return [fail('service.file', `cannot read ${t.file}: ${(err as Error).message}`, `check its permissions, or run "${install}" again`), skip('service.runners', 'no service file to read')];
  }
  const other = otherHomeOf(t);
  if (other !== null) {
    return [
      fail('service.file', `${t.file} runs the watcher of another home, ${other}, whose node is also named ${config.node}; this home has no service`, `remove that home's service with "gitbus service uninstall --home ${shellQuote(other)}", then run "${install}"`),
      skip('service.runners', "the service file is another home's"),
    ];
  }
  const fileEnv = serviceEnvironment(t.manager, text);
  if (fileEnv === null) return [fail('service.file', `cannot read the environment in ${t.file}`, `run "${install}" again to rewrite it`), skip('service.runners', 'the service file could not be read')];
  const svcEnv: NodeJS.ProcessEnv = { ...managerBase(t, env), ...fileEnv };
  const out: Check[] = [ok('service.file', `${t.file}: PATH=${svcEnv['PATH'] ?? ''}`)];

  const checks = (await checkRunners(config, svcEnv)).filter((c) => {
    const runner = runnerOf(c.name);
    return runner !== null && config.runners.includes(runner);
  });
  if (checks.length === 0) out.push(skip('service.runners', 'no runners enabled in node.yaml'));
  for (const c of checks) {
    const name = `service.${c.name}`;
    const runner = runnerOf(c.name);
    if (runner === null || c.name !== `runner.${runner}` || (c.status !== 'fail' && c.status !== 'ok')) {
      out.push({ ...c, name });
      continue;
    }
    const binary = runnerBinary(runner, config, env);
    const mine = binary === null ? null : whichOn(binary, env['PATH'] ?? '');
    if (c.status === 'ok') {
      // Found, but maybe another install than this shell's (an older node version's claude, a second tmux).
      const svcBinary = runnerBinary(runner, config, svcEnv);
      const theirs = svcBinary === null ? null : whichOn(svcBinary, svcEnv['PATH'] ?? '');
      if (mine !== null && theirs !== null && realpathOr(mine) !== realpathOr(theirs)) {
        out.push({
          name,
          status: 'warn',
          detail: `${c.detail}; the service runs ${theirs}, this shell ${mine}`,
          fix: `run "${install}" again from this shell to give the service this shell's PATH, or put ${dirname(mine)} first on the PATH in ${t.file}${reloadHint(t)}`,
        });
      } else out.push({ ...c, name });
      continue;
    }
    if (mine === null) {
      out.push({ ...c, name, detail: `${c.detail} (under the service's environment)` });
      continue;
    }
    out.push(
      fail(
        name,
        `the service does not find ${runner}: ${c.detail} (PATH=${svcEnv['PATH'] ?? ''}), though this shell finds it at ${mine}`,
        `run "${install}" again from this shell (the service gets this shell's PATH, with ${dirname(mine)}), or add ${dirname(mine)} to the PATH in ${t.file}${reloadHint(t)}`,
      ),
    );
  }
  return out;
}
