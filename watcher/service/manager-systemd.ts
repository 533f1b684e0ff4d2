import { existsSync } from 'node:fs';
import type { CommandResult, ServiceCommands } from './commands.js';
import { ServiceCommandError } from './errors.js';
import { describeFailure, shellQuote, type Manager } from './manager.js';
import type { ServiceState, ServiceTarget } from './service.js';
import { journalCommand } from './systemd-unit.js';

export class Systemd implements Manager {
  readonly label = 'systemctl --user';
  constructor(
    private readonly cmd: ServiceCommands,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private async must(t: ServiceTarget, args: string[], written: boolean): Promise<CommandResult> {
    const r = await this.cmd.run('systemctl', ['--user', ...args]);
    if (r.code !== 0) {
      throw new ServiceCommandError({
        command: `systemctl --user ${args.join(' ')}`,
        output: describeFailure(r),
        file: t.file,
        written,
        fix: `see "systemctl --user status ${t.name}" and "${journalCommand(t.node)}", then run the gitbus service command again`,
      });
    }
    return r;
  }

  async probe(): Promise<string | null> {
    const r = await this.cmd.run('systemctl', ['--user', 'show-environment']);
    return r.code === 0 ? null : describeFailure(r);
  }

  async state(t: ServiceTarget): Promise<ServiceState> {
    const r = await this.must(t, ['show', '-p', 'LoadState,ActiveState,SubState,MainPID,UnitFileState', t.name], existsSync(t.file));
    const props = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const active = props.get('ActiveState') ?? null;
    const pid = Number(props.get('MainPID') ?? '0');
    return {
      loaded: props.get('LoadState') === 'loaded',
      active: active === 'active' || active === 'activating' || active === 'reloading',
      state: active,
      subState: props.get('SubState') ?? null,
      pid: pid > 0 ? pid : null,
      enabled: props.get('UnitFileState') || null,
    };
  }

  private ref(t: ServiceTarget): string {
    // A unit outside systemd's folders is enabled by its path, which links it in (`systemctl enable PATH`).
    return t.standardDir ? t.name : t.file;
  }

  async load(t: ServiceTarget, before: ServiceState): Promise<void> {
    await this.must(t, ['daemon-reload'], true);
    await this.must(t, ['enable', this.ref(t)], true);
    await this.must(t, [before.active ? 'restart' : 'start', t.name], true);
  }

  async unload(t: ServiceTarget, before: ServiceState): Promise<boolean> {
    const known = before.loaded || before.enabled !== null;
    if (known) {
      const r = await this.cmd.run('systemctl', ['--user', 'disable', '--now', t.name]);
      if (r.code !== 0 && before.loaded) await this.must(t, ['stop', t.name], true);
    }
    return known;
  }

  async afterRemove(t: ServiceTarget): Promise<void> {
    await this.cmd.run('systemctl', ['--user', 'daemon-reload']);
    await this.cmd.run('systemctl', ['--user', 'reset-failed', t.name]);
  }

  loadCommands(t: ServiceTarget): string[] {
    return ['systemctl --user daemon-reload', `systemctl --user enable --now ${shellQuote(this.ref(t))}`];
  }

  unloadCommands(t: ServiceTarget): string[] {
    return [`systemctl --user disable --now ${t.name}`, 'systemctl --user daemon-reload'];
  }

  unavailableFix(t: ServiceTarget): string {
    return [
      'give this user a running systemd user manager, then load the unit:',
      '    sudo loginctl enable-linger $USER            # user services run without a login session, and from boot',
      '    export XDG_RUNTIME_DIR=/run/user/$(id -u)    # in an SSH or su session, if systemctl --user still cannot connect',
      ...this.loadCommands(t).map((c) => `    ${c}`),
      `  (or run "gitbus service install --home ${shellQuote(t.home)}" again); without systemd (a container), run "gitbus watch --home ${shellQuote(t.home)}" under another supervisor`,
    ].join('\n');
  }

  /** A user manager only runs while the user is logged in, unless lingering is on. */
  async lingerNote(): Promise<string | null> {
    const user = this.env['USER'] ?? this.env['LOGNAME'];
    if (!user) return null;
    const r = await this.cmd.run('loginctl', ['show-user', user, '-p', 'Linger', '--value']);
    if (r.code !== 0 || r.stdout.trim() !== 'no') return null;
    return `lingering is off for ${user}: the watcher stops when ${user}'s last session ends and does not start at boot; turn it on with "sudo loginctl enable-linger ${user}"`;
  }
}

