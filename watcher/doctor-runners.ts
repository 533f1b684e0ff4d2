import { execFile } from 'node:child_process';
import type { NodeConfig } from '../bus/home.js';
import type { Check } from '../bus/ops/doctor.js';
import { RUNNERS, type RunnerName } from '../schemas/field-limits.js';
import { claudeBinary } from './runners/claude-args.js';
import { CLAUDE_FIX, ICECC_FIX, TMUX_FIX } from './runner-binaries.js';
import { DEFAULT_SCHEDULER_PORT, findLocalDaemon, iceccVersion, parseScheduler, probe } from './runners/icecc.js';

/** How long one `--version` may take: a binary that hangs is as good as missing. */
const VERSION_MS = 15_000;

interface Found {
  ok: boolean;
  /** The version line, or why the binary did not run. */
  text: string;
  missing: boolean;
}

function version(binary: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Found> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: VERSION_MS, encoding: 'utf8', env }, (err, stdout, stderr) => {
      const line = (stdout.trim() || stderr.trim()).split('\n')[0] ?? '';
      if (!err) return resolve({ ok: true, text: line, missing: false });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return resolve({ ok: false, text: `no "${binary}" on PATH`, missing: true });
      resolve({ ok: false, text: err.killed ? `"${binary} ${args.join(' ')}" did not finish within ${VERSION_MS / 1000} s` : `"${binary} ${args.join(' ')}" failed: ${line || (err.message.split('\n')[0] ?? '')}`, missing: false });
    });
  });
}

const GIT_FIX = 'install git 2.38 or later on this node (Debian/Ubuntu: "apt-get install git"; macOS: "brew install git")';
const SHELL_FIX = 'install a POSIX shell as "sh" on PATH (every Unix has one at /bin/sh: check the watcher\'s PATH)';

/** Whether the runner could run here at all, as one check named runner.<name> (before the enabled/disabled verdict). */
async function probeRunner(runner: RunnerName, config: NodeConfig, env: NodeJS.ProcessEnv): Promise<{ found: Found; fix: string }> {
  switch (runner) {
    case 'shell': {
      const found = await version('sh', ['-c', 'echo sh works'], env);
      return { found, fix: SHELL_FIX };
    }
    case 'tmux': {
      const found = await version('tmux', ['-V'], env);
      if (found.ok) {
        const m = /(\d+)\.(\d+)/.exec(found.text);
        if (m && Number(m[1]) < 3) return { found: { ok: false, text: `${found.text} is older than 3.0, which the tmux runner needs`, missing: false }, fix: TMUX_FIX };
      }
      return { found, fix: TMUX_FIX };
    }
    case 'claude': {
      const binary = claudeBinary(config.claude, env);
      const found = await version(binary, ['--version'], env);
      return { found, fix: CLAUDE_FIX };
    }
    case 'icecc': {
      const v = await iceccVersion(env);
      return 'text' in v ? { found: { ok: true, text: v.text, missing: false }, fix: ICECC_FIX } : { found: { ok: false, text: v.reason.split(': install')[0] ?? v.reason, missing: /not installed/.test(v.reason) }, fix: ICECC_FIX };
    }
    case 'merge': {
      const found = await version('git', ['--version'], env);
      if (found.ok) {
        const m = /(\d+)\.(\d+)/.exec(found.text);
        if (m && (Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 38))) return { found: { ok: false, text: `${found.text} is older than 2.38, whose "git merge-tree --write-tree" the merge runner needs`, missing: false }, fix: GIT_FIX };
      }
      return { found, fix: GIT_FIX };
    }
    default:
      return { found: { ok: true, text: 'a person runs these tasks; nothing to check', missing: false }, fix: '' };
  }
}

/**
 * The checks of each runner: those enabled in node.yaml must work; others found on the machine are hints. `env`
 * is the environment the watcher would have (this process's; a service's for `doctor --service`).
 */
export async function checkRunners(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const out: Check[] = [];
  if (config.runners.length === 0) out.push({ name: 'runners', status: 'skip', detail: 'no runners enabled in node.yaml: the watcher runs nothing on this node', fix: null });
  for (const runner of RUNNERS) {
    if (runner === 'manual' && !config.runners.includes(runner)) continue;
    const name = `runner.${runner}`;
    const enabled = config.runners.includes(runner);
    const { found, fix } = await probeRunner(runner, config, env);
    if (!enabled) {
      out.push({ name, status: 'skip', detail: found.ok ? `not enabled, but available here (${found.text}): add "${runner}" to runners in node.yaml (or --runner ${runner} at join) to let this node run ${runner} tasks` : `not enabled (${found.text})`, fix: null });
      continue;
    }
    if (!found.ok) {
      out.push({ name, status: 'fail', detail: found.text, fix: `${fix}, or remove ${runner} from runners in node.yaml` });
      continue;
    }
    if (runner === 'claude') out.push({ name, status: 'ok', detail: `${found.text} (${claudeBinary(config.claude, env)}); whether it is logged in cannot be checked offline: run "claude" once as the watcher's user, or set ANTHROPIC_API_KEY`, fix: null });
    else out.push({ name, status: 'ok', detail: found.text, fix: null });
    if (runner === 'icecc') out.push(...(await iceccExtras(config, env)));
  }
  return out;
}

async function iceccExtras(config: NodeConfig, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const out: Check[] = [];
  const scheduler = config.icecc?.scheduler;
  if (!scheduler) out.push({ name: 'runner.icecc.scheduler', status: 'skip', detail: 'no icecc.scheduler in node.yaml: the local iceccd finds one', fix: null });
  else {
    const addr = parseScheduler(scheduler);
    if (!addr) out.push({ name: 'runner.icecc.scheduler', status: 'fail', detail: `icecc.scheduler "${scheduler}" is not host or host:port`, fix: `correct icecc.scheduler in node.yaml (the port is ${DEFAULT_SCHEDULER_PORT} by default)` });
    else {
      const err = await probe(addr);
      out.push(
        err === null
          ? { name: 'runner.icecc.scheduler', status: 'ok', detail: `${addr.host}:${addr.port} answers`, fix: null }
          : { name: 'runner.icecc.scheduler', status: 'fail', detail: `${addr.host}:${addr.port} is not reachable: ${err}`, fix: `start icecc-scheduler there ("systemctl start icecc-scheduler", or "icecc-scheduler -d -p ${addr.port}"), or correct icecc.scheduler in node.yaml` },
      );
    }
  }
  const daemon = await findLocalDaemon(env);
  out.push(
    'where' in daemon
      ? { name: 'runner.icecc.daemon', status: 'ok', detail: `a local iceccd answers at ${daemon.where}`, fix: null }
      : { name: 'runner.icecc.daemon', status: 'fail', detail: daemon.reason.split(': start it')[0] ?? daemon.reason, fix: 'start it ("systemctl start iceccd", or "iceccd -d -s <scheduler>", as root so that it also takes jobs from other nodes)' },
  );
  return out;
}
