import type { Command } from 'commander';
import { signPath } from '../../bus/trust/sign-checkout.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface SignOptions extends CommonOptions {
  key?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('sign')
      .argument('<path>', 'a bus file in your checkout of the bus: handoffs/<id>.md, cancels/<id>.md, a file of trust/ ...')
      .option('--key <file>', 'the SSH key: a private key, or a public key whose private half is in ssh-agent (default: signingKey in node.yaml, else git\'s user.signingkey when gpg.format is ssh)')
      .description('sign a bus file with your SSH key (SSHSIG, as ssh-keygen -Y sign); writes signatures/<path>.sig next to it in the checkout'),
  ).action(async (path: string, opts: SignOptions) =>
    run(opts, async (home) => {
      const r = await signPath(path, { ...(opts.key !== undefined ? { key: opts.key } : {}), home });
      emit(opts, r, () => {
        if (r.outcome === 'already-signed') return `${r.path} is already signed by ${r.signer.fingerprint} (${r.sidecar}); nothing to do`;
        return [
          `signed ${r.path} (${r.namespace}) with ${r.signer.fingerprint}, the key of ${r.keySource}`,
          `${r.outcome === 'replaced' ? 'replaced the signature that no longer matched the file in' : 'wrote'} ${r.sidecar}; commit it with the file:`,
          `  git add ${r.path} ${r.sidecar}`,
        ].join('\n');
      });
    }),
  );
}
