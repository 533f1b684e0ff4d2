import type { Command } from 'commander';
import { runDoctor } from '../../bus/ops/doctor.js';
import { envUserHome } from '../user-home.js';
import { checkRunners } from '../../watcher/doctor-runners.js';
import { checkService } from '../../watcher/service/doctor-service.js';
import { spendCheck } from '../../watcher/spend-cap.js';
import { EXIT } from '../exit-codes.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { cacheFolders, codeCacheProblem } from '../code-cache-folders.js';
import { ok, skip, warn, type Check } from '../../bus/ops/doctor-check.js';
import { serveCheck } from '../serve/doctor-serve.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('doctor')
      .description("check this node's setup: its home, the remote (reachable, a bus, writable), the clock, heartbeats, runners and git; exits 7 when a check fails")
      .option('--service', "also check the runners under the environment of this node's installed service (gitbus service install): a runner this shell finds but the service does not fails"),
  ).action(async (opts: CommonOptions & { service?: boolean }) =>
    run(opts, async (home) => {
      const runnerChecks = async (config: Parameters<typeof checkRunners>[0]) => [...(await checkRunners(config)), spendCheck(home, config), ...(opts.service ? await checkService(home, config) : [])];
      // Whether commands start from their code cache here decides which of them the watcher serves (cli.serve).
      const cacheCheck = codeCacheCheck();
      const r = await runDoctor(home, { runnerChecks, userHome: () => envUserHome(), localChecks: [cacheCheck, await serveCheck(home, process.env, cacheCheck.status === 'ok')] });
      emit(opts, r, () => {
        const width = Math.max(...r.checks.map((c) => c.name.length));
        const lines = [`gitbus doctor: home ${r.home}${r.node ? `, node ${r.node}` : ''}`];
        for (const c of r.checks) {
          lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
          if (c.fix && (c.status === 'fail' || c.status === 'warn')) lines.push(`      ${' '.repeat(width)}  fix: ${c.fix}`);
        }
        lines.push('', r.failed ? `${r.failed} check(s) failed, ${r.warned} warning(s)` : `nothing failed${r.warned ? `; ${r.warned} warning(s)` : ''}`);
        return lines.join('\n');
      });
      if (r.failed > 0) process.exitCode = EXIT.setup;
    }),
  );
}

/** Whether commands can start from their V8 code cache (cli/code-cache.ts): without it each is ~20-50 ms slower. */
function codeCacheCheck(env: NodeJS.ProcessEnv = process.env): Check {
  const name = 'cli.code-cache';
  if (env['GITBUS_CODE_CACHE'] === '0') return skip(name, 'GITBUS_CODE_CACHE=0: commands start from the ES module build');
  const problem = codeCacheProblem(env);
  if (problem) return warn(name, `${problem.reason}: commands start without a code cache, from the ES module build (slower)`, problem.fix);
  const folders = cacheFolders(env);
  return ok(name, `commands start from their V8 code cache in ${'problem' in folders ? '?' : folders.keys}`);
}
