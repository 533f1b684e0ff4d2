import type { SshTransport } from '../transport/ssh.js';
import { CLOCK_FIX, describeSkew, skewOf } from './doctor-clock.js';
import { ok, skip, warn, type Check } from './doctor-check.js';

/**
 * The SSH host's clock, from `date` run over the connection (a host that only allows git commands is skipped),
 * and how long a command takes to start there: every git exchange pays it.
 */
export async function checkSshHost(transport: SshTransport, maxSkewMs: number, slowCommandMs: number): Promise<Check[]> {
  const before = Date.now();
  const probe = await transport.probeHost().catch(() => null);
  const after = Date.now();
  const out: Check[] = [];
  if (probe && probe.commandMs > slowCommandMs) {
    out.push(
      warn(
        'ssh.shell',
        `a command on the host takes ${Math.round(probe.commandMs)} ms from start to exit, and every git exchange (each claim, each poll) pays it`,
        "the host's login shell is slow to start: bash reads ~/.bashrc even for commands run over ssh, so make it return early when not interactive (put `case $- in *i*) ;; *) return;; esac` at its top) or move slow setup (pyenv, nvm, conda init) into ~/.bash_profile",
      ),
    );
  } else if (probe) out.push(ok('ssh.shell', `a command on the host starts and exits in ${Math.round(probe.commandMs)} ms`));
  const remote = probe?.clockMs ?? null;
  if (remote === null) {
    out.push(skip('clock', `${transport.display} does not run \`date\` for this user (a git-only account), so its clock cannot be compared`));
    return out;
  }
  const skew = skewOf(remote, before, after);
  const text = `the SSH host's clock is ${describeSkew(skew, 'in step with this one (±1 s)')}`;
  out.push(Math.abs(skew) > maxSkewMs ? warn('clock', text, CLOCK_FIX) : ok('clock', text));
  return out;
}

/** How the SSH connection was made: where the alias led, the host key and where it is trusted, the login. */
export function sshChecks(transport: SshTransport): Check[] {
  const t = transport.target;
  const info = transport.connectionInfo();
  const out: Check[] = [];
  const via = t.config.proxyJump ? ` via ProxyJump ${t.config.proxyJump}` : t.config.proxyCommand ? ' via ProxyCommand' : '';
  const keys = t.config.identityFiles.length ? `IdentityFile ${t.config.identityFiles.join(', ')}` : 'default keys';
  const detail = `${t.remote.host}${t.where.alias ? ` -> ${t.where.endpoint}` : ` = ${t.where.endpoint}`}${via}; ${keys}; known_hosts ${t.config.userKnownHostsFiles.join(', ') || 'none'}`;
  out.push(
    t.config.ignored.length > 0
      ? warn('ssh.config', `${detail}; not supported and ignored: ${t.config.ignored.map((i) => `${i.keyword} (${i.file}:${i.line})`).join(', ')}`, 'gitbus reads ~/.ssh/config like OpenSSH but without these keywords: check that the host is reached as you expect, or set HostName/Port/User explicitly')
      : ok('ssh.config', detail),
  );
  if (info) {
    out.push(ok('ssh.hostkey', info.hostKey ? `${info.hostKey.keyType} ${info.hostKey.fingerprint} (${info.hostKey.how})` : 'accepted'));
    out.push(ok('ssh.auth', `logged in as ${t.user} with ${info.auth ?? 'no key (the server asked for none)'}; connecting took ${Math.round(info.connectMs)} ms${info.connections > 1 ? `, ${info.connections - 1} reconnect(s)` : ''}`));
  }
  return out;
}

