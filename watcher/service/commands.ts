import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ServiceManagerKind = 'systemd' | 'launchd';
export type ServiceProgram = 'systemctl' | 'launchctl' | 'loginctl';

export interface CommandResult {
  /** Exit code; null when the program did not run or did not finish. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why the program did not run or finish (not installed, timed out); null when it exited. */
  failure: string | null;
}

/** How the service manager is driven. The real one spawns the programs; tests may inject another. */
export interface ServiceCommands {
  run(program: ServiceProgram, args: string[]): Promise<CommandResult>;
}

const OUTPUT_CAP = 64 * 1024;

/** Spawns `systemctl`/`launchctl`/`loginctl` with a bounded wait; never rejects. */
export class SpawnServiceCommands implements ServiceCommands {
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.env = withRuntimeDir(opts.env ?? process.env);
  }

  run(program: ServiceProgram, args: string[]): Promise<CommandResult> {
    return new Promise((done) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const finish = (r: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(r);
      };
      const child = spawn(program, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish({ code: null, stdout, stderr, failure: `did not finish within ${this.timeoutMs / 1000}s` });
      }, this.timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(0, OUTPUT_CAP)));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(0, OUTPUT_CAP)));
      child.on('error', (err: NodeJS.ErrnoException) => finish({ code: null, stdout, stderr, failure: err.code === 'ENOENT' ? `${program} is not installed` : err.message }));
      child.on('close', (code, signal) => finish({ code, stdout, stderr, failure: code === null ? `killed by ${signal ?? 'a signal'}` : null }));
    });
  }
}

/**
 * `systemctl --user` finds the user's manager through XDG_RUNTIME_DIR, which an SSH session or `su` may not
 * set even when the manager runs (lingering); point it at the usual place when that exists.
 */
function withRuntimeDir(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env['XDG_RUNTIME_DIR'] || typeof process.getuid !== 'function') return env;
  const dir = `/run/user/${process.getuid()}`;
  return existsSync(dir) ? { ...env, XDG_RUNTIME_DIR: dir } : env;
}

