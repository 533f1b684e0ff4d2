import { existsSync } from 'node:fs';
import type { CommandResult, ServiceCommands } from './commands.js';
import { ServiceCommandError } from './errors.js';
import { describeFailure, shellQuote, type Manager } from './manager.js';
import type { ServiceState, ServiceTarget } from './service.js';
import { stopTimeoutSeconds } from './systemd-unit.js';

export class Launchd implements Manager {
  readonly label = 'launchctl';
  constructor(
    private readonly cmd: ServiceCommands,
    private readonly uid: number,
  ) {}

  private domain(): string {
    return `gui/${this.uid}`;
  }

  private service(t: ServiceTarget): string {
    return `${this.domain()}/${t.name}`;
  }

  private async must(t: ServiceTarget, args: string[], written: boolean): Promise<CommandResult> {
    const r = await this.cmd.run('launchctl', args);
    if (r.code !== 0) {
      throw new ServiceCommandError({
        command: `launchctl ${args.join(' ')}`,
        output: describeFailure(r),
        file: t.file,
        written,
        fix: `check the plist with "plutil -lint ${shellQuote(t.file)}" and the log ${shellQuote(t.logs.file ?? '')}, then run the gitbus service command again`,
      });
    }
    return r;
  }

  async probe(): Promise<string | null> {
    const r = await this.cmd.run('launchctl', ['print', this.domain()]);
    return r.code === 0 ? null : describeFailure(r);
  }

  async state(t: ServiceTarget): Promise<ServiceState> {
    const r = await this.cmd.run('launchctl', ['print', this.service(t)]);
    if (r.code !== 0) return { loaded: false, active: false, state: null, subState: null, pid: null, enabled: null };
    const state = /^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim() ?? null;
    const pid = Number(/^\s*pid = (\d+)$/m.exec(r.stdout)?.[1] ?? '0');
    return { loaded: true, active: state === 'running', state, subState: null, pid: pid > 0 ? pid : null, enabled: null };
  }

  async load(t: ServiceTarget, before: ServiceState): Promise<void> {
    if (before.loaded) await this.unloadAndWait(t);
    // A service disabled with `launchctl disable` refuses to bootstrap; installing means wanting it enabled.
    await this.must(t, ['enable', this.service(t)], true);
    await this.must(t, ['bootstrap', this.domain(), t.file], true);
  }

  async unload(t: ServiceTarget, before: ServiceState): Promise<boolean> {
    if (!before.loaded) return false;
    await this.unloadAndWait(t);
    return true;
  }

  /** `bootout` may return before the watcher has exited, and bootstrap fails until it is gone; wait, bounded by ExitTimeOut. */
  private async unloadAndWait(t: ServiceTarget): Promise<void> {
    const out = await this.cmd.run('launchctl', ['bootout', this.service(t)]);
    const deadline = Date.now() + (stopTimeoutSeconds() + 10) * 1000;
    while ((await this.cmd.run('launchctl', ['print', this.service(t)])).code === 0) {
      if (Date.now() > deadline) {
        throw new ServiceCommandError({
          command: `launchctl bootout ${this.service(t)}`,
          output: `the service was still loaded ${stopTimeoutSeconds() + 10}s later${out.code !== 0 ? ` (${describeFailure(out)})` : ''}`,
          file: t.file,
          written: existsSync(t.file),
          fix: `see "launchctl print ${this.service(t)}"; stop it with "launchctl kill SIGKILL ${this.service(t)}", then try again`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  loadCommands(t: ServiceTarget): string[] {
    return [`launchctl bootstrap gui/$(id -u) ${shellQuote(t.file)}`];
  }

  unloadCommands(t: ServiceTarget): string[] {
    return [`launchctl bootout gui/$(id -u)/${t.name}`];
  }

  unavailableFix(t: ServiceTarget): string {
    return [
      'a LaunchAgent loads into the GUI session of a logged-in user (an SSH session has no gui/$(id -u) domain): log in to this Mac, then run',
      ...this.loadCommands(t).map((c) => `    ${c}`),
      `  (or "gitbus service install --home ${shellQuote(t.home)}" again)`,
    ].join('\n');
  }
}

