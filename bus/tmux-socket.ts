import { resolve } from 'node:path';

/**
 * The tmux server the tmux runner (and interactive claude) starts its sessions on: GITBUS_TMUX_SOCKET made
 * absolute, or undefined for the user's default server. Here rather than in the runner because the watcher also
 * publishes it on its node card (bus/ops/node-card-publish.ts), where `gitbus attach` on any node reads it, and a
 * path relative to the watcher's working folder would mean nothing there.
 */
export function tmuxSocketOf(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = env['GITBUS_TMUX_SOCKET'];
  return socket ? resolve(socket) : undefined;
}
