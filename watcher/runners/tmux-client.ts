import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { tmuxSocketOf } from '../../bus/tmux-socket.js';

export interface TmuxResult {
  ok: boolean;
  stdout: string;
  /** tmux's own words on failure, for a reason a person can act on. */
  stderr: string;
  /** No tmux binary on PATH (ENOENT). */
  missing: boolean;
  /** Killed after TMUX_CALL_MS: the server is busy or wedged, which says nothing about the session. */
  timedOut: boolean;
}

/** A tmux command that hangs (a wedged server) must not stall the watcher. */
const TMUX_CALL_MS = 10_000;

/**
 * The user's default server unless GITBUS_TMUX_SOCKET names another: sessions must be where a plain
 * `tmux attach` looks, but tests must never touch a real user's server. The watcher's card names it for `gitbus attach`.
 */
export function socketArgs(): string[] {
  const socket = tmuxSocketOf();
  return socket ? ['-S', socket] : [];
}

export function tmux(args: string[]): Promise<TmuxResult> {
  return new Promise((resolve) => {
    execFile('tmux', [...socketArgs(), ...args], { timeout: TMUX_CALL_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      resolve({ ok: !err, stdout, stderr: stderr.trim() || (err?.message ?? ''), missing: code === 'ENOENT', timedOut: err?.killed === true });
    });
  });
}

/** `tmux wait-for CHANNEL`: exits when the channel is signalled (tmux remembers a signal nobody waited for yet) or the server goes. */
export function waitFor(channel: string, onExit: () => void): ChildProcess {
  const child = spawn('tmux', [...socketArgs(), 'wait-for', channel], { stdio: 'ignore' });
  child.once('error', onExit);
  child.once('exit', onExit);
  return child;
}

/** `-t =NAME`: a bare name also matches sessions it is a prefix of, and `gitbus-ab` must never mean `gitbus-abc`. */
export const exactSession = (name: string): string => `=${name}`;

/** One word for `sh`, whatever it contains. */
export { shellQuoted as shellQuote } from '../../bus/project/shell-word.js';

/** tmux expands `#{...}` formats in `-c` and in pipe-pane's command; `##` is a literal `#`. */
export const formatLiteral = (s: string): string => s.replace(/#/g, '##');
