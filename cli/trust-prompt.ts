import { createInterface } from 'node:readline';
import { z } from '../schemas/zod.js';
import { DIGEST_RE, DIGEST_RULE, FINGERPRINT_RE, FINGERPRINT_RULE } from '../schemas/trust-root.js';
import type { TrustChoice, TrustOffer } from '../bus/trust/pin-choice.js';
import { checkFlag } from './flags.js';
import { terminalText } from '../schemas/output-text.js';

/** The admin keys a person is asked to trust, as ssh shows a new host key. */
export function describeOffer(offer: TrustOffer): string {
  const lines = [
    `The bus has a trust root: version ${offer.version} (${offer.digest}), threshold ${offer.threshold}.`,
    'Its admin keys (they decide who may make this machine run anything):',
    ...offer.admins.map((a) => `  ${a.principal}  ${a.fingerprint}`),
  ];
  if (offer.stop) lines.push(`(version ${offer.stop.version} on the bus is not accepted: ${offer.stop.status === 'pending' ? 'it waits for signatures' : offer.stop.reason})`);
  return terminalText(lines.join('\n'));
}

/** Asks on the terminal, like a first SSH connection; undefined when stdin or stderr is not a terminal. */
function terminalConfirm(): TrustChoice['confirm'] {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (offer) =>
    new Promise((resolve) => {
      process.stderr.write(`${describeOffer(offer)}\nCompare these fingerprints with your admins'. Trust these admin keys (yes/no)? `);
      const rl = createInterface({ input: process.stdin, terminal: false });
      rl.once('line', (answer) => {
        // Before close(): it emits 'close' at once, whose "no" would otherwise win.
        resolve(/^y(es)?$/i.test(answer.trim()));
        rl.close();
      });
      rl.once('close', () => resolve(false));
    });
}

const fingerprintSchema = z.string().check(z.regex(FINGERPRINT_RE)).register(z.globalRegistry, { description: FINGERPRINT_RULE });
const digestSchema = z.string().check(z.regex(DIGEST_RE)).register(z.globalRegistry, { description: DIGEST_RULE });

/** `--trust FP[,FP...]` (repeatable). */
export function fingerprintsFlag(v: string, previous: string[] = []): string[] {
  return [...previous, ...v.split(',').map((f) => f.trim()).filter((f) => f !== '').map((f) => checkFlag('--trust', fingerprintSchema, f))];
}

export function digestFlag(v: string): string {
  return checkFlag('--trust-root', digestSchema, v.trim());
}

/** The choice of `join` and `trust pin`: what the flags name, else the terminal, else nothing (refused). */
export function trustChoiceOf(opts: { trust?: string[]; trustRoot?: string }): TrustChoice {
  if (opts.trust) return { fingerprints: opts.trust };
  if (opts.trustRoot) return { rootDigest: opts.trustRoot };
  const confirm = terminalConfirm();
  return confirm ? { confirm } : {};
}
