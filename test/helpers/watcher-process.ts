import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

export interface WatchEventLine {
  type: string;
  id?: string;
  attempt?: number;
  status?: string;
  [k: string]: unknown;
}

export interface WatcherProcess {
  child: ChildProcess;
  events: () => WatchEventLine[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `gitbus watch --json` as its own OS process; `children` collects it so the suite can kill leftovers. */
export function startWatcher(home: string, args: string[], children: ChildProcess[], env: NodeJS.ProcessEnv = {}): WatcherProcess {
  return startEventProcess(home, ['watch', '--json', ...args], children, env);
}

/** A gitbus command that prints one JSON event per line (`watch --json`, `serve --json`) as its own OS process. */
export function startEventProcess(home: string, args: string[], children: ChildProcess[], env: NodeJS.ProcessEnv = {}): WatcherProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const t0 = Date.now();
  // Each complete line is stamped with when it arrived (ms after start, `_at`), for explaining failures.
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) out += l.startsWith('{') && l.endsWith('}') ? `${l.slice(0, -1)},"_at":${Date.now() - t0}}\n` : `${l}\n`;
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': at 'exit' the child's last lines may still be in the pipe, unread (Node's child_process docs).
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as WatchEventLine];
        } catch {
          return []; // a line still being written
        }
      });
  return { child, events, stderr: () => err, exited };
}
