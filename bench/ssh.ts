import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openBus } from '../bus/context.js';
import { claim } from '../bus/ops/claim.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { SshTransport } from '../bus/transport/ssh.js';
import { cliCycle } from './cli-cycle.js';
import { git, tmp } from './fixtures.js';
import { sshdInstalled, startSshd } from './sshd-server.js';
import { dispatchToClaim } from './watcher.js';
import { fmt, row, summarize, time } from './stats.js';

/**
 * The claim cycle over SSH on loopback (a real OpenSSH sshd), gitbus (ssh2 in-process, one kept connection)
 * against the git CLI over the same sshd: as git runs by default (a new ssh connection per fetch and push) and
 * with OpenSSH connection sharing (ControlMaster), the fairest comparison. Then dispatch-to-claim latency of a
 * watcher that polls over SSH.
 */
export async function sshBench(lines: string[], cycles: number): Promise<void> {
  if (!sshdInstalled()) {
    lines.push('## SSH', '', 'skipped: /usr/sbin/sshd is not installed (apt-get install openssh-server)', '');
    return;
  }
  const sshd = await startSshd();
  const saved = process.env['GITBUS_SSH_CONFIG'];
  process.env['GITBUS_SSH_CONFIG'] = sshd.configFile;
  try {
    const dir = tmp('gitbus-bench-ssh-');
    const bare = join(dir, 'bus.git');
    git(['init', '-q', '--bare', '--initial-branch=main', bare]);
    const remote = `busbox:${bare}`;
    await initBus(join(dir, 'a'), { remote, node: 'claimer' });
    await joinBus(join(dir, 'b'), remote, { node: 'other' });
    const a = await openBus(join(dir, 'a'));
    const b = await openBus(join(dir, 'b'));
    const ids: string[] = [];
    for (let i = 0; i < cycles * 3 + 10; i++) ids.push((await dispatch(b, { handoff: { title: `ssh ${i}` }, body: '' })).id);
    const take = () => ids.shift() as string;

    const sshCmd = `ssh -F ${sshd.configFile} -o BatchMode=yes`;
    const plainEnv = { GIT_SSH_COMMAND: sshCmd };
    const control = join(dir, 'cm-%C');
    const muxEnv = { GIT_SSH_COMMAND: `${sshCmd} -o ControlMaster=auto -o ControlPath=${control} -o ControlPersist=60` };
    const work = join(dir, 'work');
    git(['clone', '-q', remote, work], undefined, undefined, plainEnv);

    for (let i = 0; i < 3; i++) await claim(a, { id: take() });
    for (let i = 0; i < 2; i++) await cliCycle(work, take(), plainEnv);
    await cliCycle(work, take(), muxEnv);

    const ours: number[] = [];
    const plain: number[] = [];
    const mux: number[] = [];
    for (let i = 0; i < cycles; i++) {
      const ida = take();
      await a.repo.sync();
      ours.push(await time(() => claim(a, { id: ida })));
      const idp = take();
      git(['fetch', '-q', 'origin', 'main'], work, undefined, plainEnv);
      git(['merge', '-q', '--ff-only', 'FETCH_HEAD'], work);
      plain.push(await time(() => cliCycle(work, idp, plainEnv)));
      const idm = take();
      git(['fetch', '-q', 'origin', 'main'], work, undefined, muxEnv);
      git(['merge', '-q', '--ff-only', 'FETCH_HEAD'], work);
      mux.push(await time(() => cliCycle(work, idm, muxEnv)));
    }
    try {
      execFileSync('ssh', ['-F', sshd.configFile, '-o', `ControlPath=${control}`, '-O', 'exit', 'busbox'], { stdio: 'ignore' });
    } catch {
      // the master may already be gone
    }
    const info = a.repo.transport instanceof SshTransport ? a.repo.transport.connectionInfo() : undefined;
    lines.push('## Claim cycle over SSH (OpenSSH sshd on loopback): fetch, decide, commit, push', '');
    lines.push(row('gitbus claim over SSH vs git CLI (new ssh per command)', summarize(ours), summarize(plain), 1.5));
    lines.push(row('gitbus claim over SSH vs git CLI with ControlMaster', summarize(ours), summarize(mux)));
    lines.push('', `baseline: the git CLI cycle (fetch + merge --ff-only + write + add + commit + push) in a clone of the same remote over the same sshd, GIT_SSH_COMMAND="ssh -F <config>"; gitbus used ${info?.connections ?? '?'} SSH connection(s) for all its cycles`, '');
    await a.repo.close();
    await b.repo.close();

    const latency = await pollLatency(remote, dir, Math.min(cycles, 15));
    lines.push(`## Dispatch-to-claim latency over SSH, watcher polling every ${latency.pollMs / 1000}s (no file watching across machines)`, '');
    lines.push(`median ${fmt(latency.sample.median)} ms, p95 ${fmt(latency.sample.p95)} ms over ${latency.sample.n} tasks; expected about half the poll interval plus one claim`, '');
  } finally {
    if (saved === undefined) delete process.env['GITBUS_SSH_CONFIG'];
    else process.env['GITBUS_SSH_CONFIG'] = saved;
    await sshd.cleanup();
  }
}

async function pollLatency(remote: string, dir: string, samples: number) {
  const pollMs = 1000;
  await joinBus(join(dir, 'w'), remote, { node: 'w', runners: ['shell'] });
  // Start each sample at a random point of the poll cycle.
  const sample = await dispatchToClaim(join(dir, 'b'), join(dir, 'w'), { pollMs, watchFiles: false, samples, settleMs: () => Math.random() * pollMs });
  return { pollMs, sample };
}
