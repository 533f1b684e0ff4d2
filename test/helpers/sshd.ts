import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSHD, sshdInstalled, startSshd as startBenchSshd, type Sshd } from '../../bench/sshd-server.js';

export { keygen, type Sshd } from '../../bench/sshd-server.js';

/** Whether tests needing a real sshd can run; on CI they must (the check script installs openssh-server). */
export function sshdAvailable(): boolean {
  const ok = sshdInstalled();
  if (!ok && process.env['CI'] === 'true') throw new Error(`${SSHD} or ssh-keygen is missing on CI: scripts/check.sh should have installed openssh-server`);
  return ok;
}

/**
 * The benchmark's sshd, with an empty HOME for the commands it runs. sshd runs every command through the user's
 * login shell, and bash reads `$HOME/.bashrc` even for commands run over ssh: this machine's root `~/.bashrc` runs
 * `pyenv init`, 0.2–0.4 s per command on a loaded machine (docs/PERFORMANCE.md, SSH), so every SSH test waited on
 * the host's shell set-up rather than on what it tests. A test that wants a slow shell says so (`ForceCommand`,
 * `SetEnv BASH_ENV=...`).
 */
export async function startSshd(opts: { extraConfig?: string[] } = {}): Promise<Sshd> {
  const home = mkdtempSync(join(tmpdir(), 'gitbus-sshd-home-'));
  let sshd: Sshd;
  try {
    sshd = await startBenchSshd({ extraConfig: withHome(opts.extraConfig ?? [], home) });
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const cleanup = sshd.cleanup;
  sshd.cleanup = async () => {
    await cleanup();
    rmSync(home, { recursive: true, force: true });
  };
  return sshd;
}

/** sshd takes only the first `SetEnv` line: HOME joins the test's own line when it has one. */
function withHome(extra: string[], home: string): string[] {
  const i = extra.findIndex((l) => /^\s*SetEnv\s/i.test(l));
  if (i < 0) return [`SetEnv HOME=${home}`, ...extra];
  return extra.map((l, k) => (k === i ? `${l.trimEnd()} HOME=${home}` : l));
}
