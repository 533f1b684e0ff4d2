import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { JoinOptions } from '../../bus/ops/join.js';
import { gitbus, gitCli, tempDir } from './cli.js';
import { initNode, joinNode, pointAt } from './in-process.js';
import type { Sshd } from './sshd.js';

/** Registers a cleanup to run after the file's tests. */
export type Track = (cleanup: () => Promise<void>) => void;

/** A bare repository the sshd's user can reach, initialised as a bus by a node `alpha` that reaches it over SSH. */
export async function sshBus(sshd: Sshd, track: Track, remoteOf: (path: string) => string = (p) => `busbox:${p}`) {
  const dir = await tempDir('gitbus-ssh-');
  track(dir.cleanup);
  const bare = join(dir.path, 'srv', 'bus.git');
  gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
  const home = (name: string) => join(dir.path, `home-${name}`);
  const init = await gitbus(['init', '--remote', remoteOf(bare), '--node', 'alpha', '--json'], { home: home('alpha'), env: sshd.env });
  expect(init.code, init.stderr).toBe(0);
  return { dir: dir.path, bare, home, remote: remoteOf(bare) };
}

/**
 * The same bare repository and homes as `sshBus`, for a test the bus is only the fixture of: made in the test's own
 * process over the repository's local path (test/helpers/in-process.ts), not by CLI processes over SSH (~0.7 s of
 * CPU each on a loaded machine, with the login and the host's git besides). Node `alpha` stays on the local path
 * (`pointAt(bus.home('alpha'), bus.remote)` moves it to SSH); `node` joins more nodes there and points them at the
 * repository over SSH (`remote`, the `busbox` alias by default), so that everything they do afterwards goes over SSH.
 */
export async function sshFixtureBus(track: Track, remoteOf: (path: string) => string = (p) => `busbox:${p}`) {
  const dir = await tempDir('gitbus-ssh-');
  track(dir.cleanup);
  const bare = join(dir.path, 'srv', 'bus.git');
  gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
  const home = (name: string) => join(dir.path, `home-${name}`);
  await initNode(home('alpha'), bare, { node: 'alpha' });
  const remote = remoteOf(bare);
  return {
    dir: dir.path,
    bare,
    home,
    remote,
    /** Joins node `name` (over the local path) and points it at the repository over SSH; its home. */
    async node(name: string, opts: Omit<JoinOptions, 'node'> = {}): Promise<string> {
      await joinNode(home(name), bare, { ...opts, node: name });
      await pointAt(home(name), remote);
      return home(name);
    },
  };
}

/** A client HOME of its own: this ssh config and known_hosts, and the sshd's environment otherwise. */
export async function clientHome(sshd: Sshd, track: Track, config: string[], knownHosts: string) {
  const dir = await tempDir('gitbus-sshhome-');
  track(dir.cleanup);
  mkdirSync(join(dir.path, '.ssh'), { mode: 0o700 });
  writeFileSync(join(dir.path, '.ssh', 'config'), config.join('\n') + '\n');
  writeFileSync(join(dir.path, '.ssh', 'known_hosts'), knownHosts);
  return { home: dir.path, env: { ...sshd.env, HOME: dir.path } };
}

/** The known_hosts line that trusts the sshd. */
export function knownHostsLine(sshd: Sshd): string {
  return `[127.0.0.1]:${sshd.port} ${sshd.hostPub}\n`;
}
