import type { Command } from 'commander';
import { RUNNER_FLAG_HELP, durationFlag, intFlag, repeatableFlag, repeatableOneOf, schemaFlag } from '../flags.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { RUNNERS } from '../../schemas/field-limits.js';
import { settingsSchema } from '../../schemas/settings-schema.js';

const settingsNameSchema = settingsSchema.shape.name._zod.def.innerType;
import { initBus } from '../../bus/ops/init.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import type { NodeConfig } from '../../bus/home.js';
import { unavailableRunners } from '../runner-check.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  remote?: string;
  node?: string;
  label?: string[];
  runner?: string[];
  parallel?: number;
  lease?: string;
  heartbeat?: string;
  poll?: string;
  maxAttempts?: number;
  name?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('init')
      .description('create a new bus and make this machine its first node')
      .option('--remote <url>', 'shared remote: a path or file:// URL to a bare repo (created if missing), an SSH remote (host:path, ssh://user@host/path; created with git init on the host if missing) or an https:// URL (must exist); default: embedded, inside the bus home')
      .option('--node <name>', 'this node\'s name (default: the host name)', schemaFlag('--node', nodeNameSchema))
      .option('--label <label>', 'a label of this node (repeatable)', repeatableFlag('--label', labelSchema))
      .option('--runner <runner>', RUNNER_FLAG_HELP, repeatableOneOf('--runner', RUNNERS))
      .option('--parallel <n>', 'how many tasks the watcher runs at once (default 1)', intFlag('--parallel', 1, 1000))
      .option('--lease <duration>', 'how long a claim survives its node\'s silence (default 5m)', durationFlag('--lease', { positive: true }))
      .option('--heartbeat <duration>', 'how often watchers prove they are alive (default 30s, or a third of --lease)', durationFlag('--heartbeat', { positive: true }))
      .option('--poll <duration>', 'how often watchers check the remote when nothing wakes them (default 30s)', durationFlag('--poll', { positive: true }))
      .option('--max-attempts <n>', 'claims a task may have before it fails (default 3)', intFlag('--max-attempts', 1, 100))
      .option('--name <name>', 'a display name for the bus', schemaFlag('--name', settingsNameSchema)),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const missing = unavailableRunners((opts.runner ?? []) as NodeConfig['runners'], opts.json);
      const r = await initBus(home, { ...(missing.length ? { unavailable: missing.map((m) => m.runner) } : {}), ...(opts.remote ? { remote: opts.remote } : {}), ...(opts.node ? { node: opts.node } : {}), labels: opts.label ?? [], ...(opts.runner ? { runners: opts.runner as NodeConfig['runners'] } : {}), ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}), ...(opts.lease ? { lease: opts.lease } : {}), ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}), ...(opts.poll ? { poll: opts.poll } : {}), ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}), ...(opts.name ? { name: opts.name } : {}) });
      emit(opts, { ...r, ...(missing.length ? { missingRunners: missing } : {}) }, () => `created bus at ${r.remote}${r.embedded ? ' (embedded)' : r.remoteCreated ? ' (a new bare repository)' : ''}\nnode ${r.node}, home ${r.home}\nnext: gitbus dispatch "what to do"`);
    }),
  );
}
