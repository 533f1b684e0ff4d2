import { SSHD, sshdInstalled } from '../../bench/sshd-server.js';

export { keygen, startSshd, type Sshd } from '../../bench/sshd-server.js';

/** Whether tests needing a real sshd can run; on CI they must (the check script installs openssh-server). */
export function sshdAvailable(): boolean {
  const ok = sshdInstalled();
  if (!ok && process.env['CI'] === 'true') throw new Error(`${SSHD} or ssh-keygen is missing on CI: scripts/check.sh should have installed openssh-server`);
  return ok;
}
