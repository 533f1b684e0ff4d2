import type { Command } from 'commander';
import { schemaFlag } from '../flags.js';
import { nodeNameSchema } from '../../schemas/fields.js';
import { installService, serviceStatus, uninstallService, type ServiceTarget, type StatusResult } from '../../watcher/service/service.js';
import { shellQuote } from '../../watcher/service/manager.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';

interface Opts extends CommonOptions {
  node?: string;
}

function kindOf(t: ServiceTarget): string {
  return t.manager === 'systemd' ? 'systemd user unit' : 'LaunchAgent';
}

function logsLine(t: ServiceTarget): string {
  return t.logs.file ? `logs: ${t.logs.file} (${t.logs.command})` : `logs: in the journal (${t.logs.command})`;
}

function stateText(s: { state: string | null; subState: string | null; pid: number | null; enabled?: string | null }): string {
  const parts = [s.state ?? 'unknown'];
  if (s.subState) parts[0] += ` (${s.subState})`;
  if (s.pid) parts.push(`pid ${s.pid}`);
  if (s.enabled) parts.push(s.enabled);
  return parts.join(', ');
}

function statusText(r: StatusResult): string {
  const lines = [`${r.name} (${kindOf(r)}) for node ${r.node}, home ${r.home}`];
  if (r.otherHome !== null) {
    lines.push(`  file: ${r.file} (not this home's: it runs the watcher of another home, ${r.otherHome}, whose node is also named ${r.node})`);
    lines.push(`  this home has no service; see that one with "gitbus service status --home ${shellQuote(r.otherHome)}"`);
    return lines.join('\n');
  }
  lines.push(`  file: ${r.file} (${r.installed ? 'installed' : 'not installed'})`);
  if (!r.managerAvailable) lines.push(`  state: unknown: ${r.manager === 'systemd' ? 'systemctl --user' : 'launchctl'} is not available here (${r.reason})`);
  else lines.push(`  state: ${r.loaded ? 'loaded' : 'not loaded'}, ${r.active ? 'active' : 'not active'}${r.loaded ? `: ${stateText(r)}` : ''}`);
  lines.push(`  ${logsLine(r)}`);
  if (!r.installed) lines.push(`  install it with "gitbus service install --home ${r.home}"`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const service = program
    .command('service')
    .description('run the watcher as a per-user service of this machine (systemd on Linux, launchd on macOS): install, uninstall, status')
    .addHelpText('after', '\nEach subcommand takes --help, --json and --home DIR; the service runs the watcher of that home (one service per node).');

  withCommon(
    service
      .command('install')
      .description(
        'install and start the watcher of this node as a user service: a systemd user unit gitbus-watch-<node>.service (logs: journalctl --user -u gitbus-watch-<node>.service) or a LaunchAgent dev.gitbus.watch.<node> (logs: <home>/logs/watcher.log). $GITBUS_SERVICE_DIR overrides where the file goes',
      ),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const r = await installService(home);
      emit(opts, r, () =>
        [
          `${r.action} ${r.name} (${kindOf(r)}) for node ${r.node}: it runs "gitbus watch --home ${r.home}", restarts it when it fails and starts it at login`,
          `  file: ${r.file}`,
          `  state: ${stateText(r.state)}`,
          `  runners: ${r.runners.map((x) => `${x.runner} (${x.found ?? `"${x.binary}" not found`})`).join(', ') || 'none'}; the service's PATH is this shell's (check it with "gitbus doctor --service")`,
          `  ${logsLine(r)}`,
        ].join('\n'),
      );
      for (const n of r.notes) note(`gitbus: note: ${n}`);
    }),
  );

  withCommon(
    service
      .command('uninstall')
      .description("stop this node's watcher service, unload it and remove its file")
      .option('--node <name>', 'the node whose service to remove, when its home is gone', schemaFlag('--node', nodeNameSchema)),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const r = await uninstallService(home, opts.node !== undefined ? { node: opts.node } : {});
      emit(opts, r, () => (r.removed ? `removed ${r.name}${r.unloaded ? ' (stopped and unloaded)' : ''}: ${r.file}` : `${r.name} was not installed (no ${r.file})${r.unloaded ? '; stopped and unloaded it' : ''}`));
      for (const n of r.notes) note(`gitbus: note: ${n}`);
    }),
  );

  withCommon(
    service
      .command('status')
      .description("whether this node's watcher service is installed, loaded and running, and where its logs are")
      .option('--node <name>', 'the node whose service to show, when its home is gone', schemaFlag('--node', nodeNameSchema)),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const r = await serviceStatus(home, opts.node !== undefined ? { node: opts.node } : {});
      emit(opts, r, () => statusText(r));
    }),
  );
}
