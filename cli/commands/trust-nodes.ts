import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from '../../schemas/zod.js';
import { InputError } from '../../bus/errors.js';
import { readKeyFile } from '../../bus/trust/key-file.js';
import { addNodeKey, ownNodeKey, type AddNodeResult } from '../../bus/trust/node-listing.js';
import { resolveSigningKey } from '../../bus/trust/signing-key.js';
import { parsePublicKeyLine, type SshPublicKey } from '../../bus/trust/ssh-key.js';
import { trustChange, type TrustWriteResult } from '../../bus/trust/write.js';
import { NODE_NAME_RE, NODE_NAME_RULE } from '../../schemas/ids.js';
import { FINGERPRINT_RE, FINGERPRINT_RULE, UNLISTED_NODES, type UnlistedNodes } from '../../schemas/trust-root.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { checkFlag } from '../flags.js';
import { emit } from '../output.js';
import { nodeKeyConfirm, ownKeyText } from '../node-keys.js';

/**
 * `gitbus trust add node`, `trust remove node`, `trust unlisted-nodes` and `trust node-key` (docs/PROTOCOL.md §12,
 * "Node keys"). Registered by trust.ts under its groups; what people see of node keys is in cli/node-keys.ts.
 */

interface KeyOpts extends CommonOptions {
  key?: string;
  replace?: boolean;
}

function nodeArg(v: string): string {
  if (!NODE_NAME_RE.test(v)) throw new InputError(`NODE ${JSON.stringify(v)} is not a node name`, `use ${NODE_NAME_RULE}`, { value: v });
  return v;
}

export function fingerprintFlag(v: string): string {
  return checkFlag('--fingerprint', z.string().check(z.regex(FINGERPRINT_RE)).register(z.globalRegistry, { description: FINGERPRINT_RULE }), v.trim());
}

/** The node's public key: a file (.pub, or a private key read for its public half), or the key line itself. */
function nodeKeyArg(v: string): SshPublicKey {
  if (/^(ssh|ecdsa|sk)-\S+\s+\S/.test(v.trim())) {
    try {
      return parsePublicKeyLine(v.trim(), 'the key given').key;
    } catch (err) {
      throw new InputError(`the key given is not an SSH public key line: ${(err as Error).message.split('\n')[0] ?? ''}`, 'give the node\'s key as its .pub file has it ("ssh-ed25519 AAAA..."), or the path of that file', { value: v.slice(0, 100) });
    }
  }
  let text: string;
  try {
    text = readFileSync(v, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the node's public key ${v}: ${(err as Error).message}`, 'give the path of the node\'s key file (<its home>/keys/node_ed25519.pub), or the key line "ssh-ed25519 AAAA..."', { file: v });
  }
  return readKeyFile(text, v).key;
}

export function unlistedNodesFlag(v: string): UnlistedNodes {
  if ((UNLISTED_NODES as readonly string[]).includes(v)) return v as UnlistedNodes;
  throw new InputError(`${JSON.stringify(v)} is not accept or refuse`, 'say accept (files of unlisted nodes still count) or refuse (they are forged; an unlisted node claims nothing)', { value: v });
}



function versionText(r: TrustWriteResult): string {
  if (r.status === 'accepted') return `trust version ${r.version} (${r.digest})`;
  return `trust version ${r.version} (${r.digest}), a proposal: it needs ${r.needed} admin signatures and waits for ${r.waitingFor.join(', ')} ("gitbus trust sign ${r.version} --key KEY")`;
}

function addedText(r: AddNodeResult): string {
  const replaced = r.replaced.length > 0 ? `, replacing ${r.replaced.join(', ')}` : '';
  return `${r.status === 'accepted' ? 'listed' : 'proposed listing'} node ${r.node}'s key ${r.fingerprint}${replaced} (${r.from === 'card' ? 'from its card' : 'as given'}): ${versionText(r)}`;
}




export function registerNodeKeyCommands(groups: { trust: Command; add: Command; remove: Command }, keyed: (cmd: Command) => Command): void {
  const keyOf = (opts: KeyOpts, home: string) => resolveSigningKey({ ...(opts.key !== undefined ? { key: opts.key } : {}), home });

  keyed(
    groups.add
      .command('node')
      .argument('<node>', 'the node')
      .argument('[pubkey]', 'the node\'s public key: a file (its <home>/keys/node_ed25519.pub) or the line "ssh-ed25519 AAAA..."; default: the key its node card offers, once you confirm its fingerprint')
      .option('--fingerprint <SHA256:...>', 'the fingerprint you checked with the node ("gitbus trust node-key" there shows it): the key must have it; needed without a terminal when the key comes from the card', fingerprintFlag)
      .description('list a node\'s own key, so what it writes (claims, responses, its card) counts; a node has one key, so this replaces the one listed before (rotation)'),
  ).action(async (node: string, pubkey: string | undefined, opts: KeyOpts & { fingerprint?: string }) =>
    withBus(opts, async (ctx) => {
      const name = nodeArg(node);
      const key = pubkey !== undefined ? nodeKeyArg(pubkey) : undefined;
      const confirm = key || opts.fingerprint ? undefined : nodeKeyConfirm();
      const r = await addNodeKey(ctx, {
        node: name,
        signingKey: await keyOf(opts, ctx.paths.home),
        ...(key ? { key } : {}),
        ...(opts.fingerprint ? { fingerprint: opts.fingerprint } : {}),
        ...(confirm ? { confirm } : {}),
        ...(opts.replace ? { replace: true } : {}),
      });
      emit(opts, r, () => addedText(r));
    }),
  );

  keyed(groups.remove.command('node').argument('<node>', 'the node').description('take a node\'s key out of the trust root: what it writes no longer counts as the node\'s')).action(async (node: string, opts: KeyOpts) =>
    withBus(opts, async (ctx) => {
      const name = nodeArg(node);
      const r = await trustChange(ctx, { kind: 'remove-node', node: name }, { key: await keyOf(opts, ctx.paths.home), ...(opts.replace ? { replace: true } : {}) });
      emit(opts, { ...r, node: name }, () => `${r.status === 'accepted' ? 'removed' : 'proposed removing'} node ${name}'s key: ${versionText(r)}`);
    }),
  );

  keyed(
    groups.trust
      .command('unlisted-nodes')
      .argument('<accept|refuse>', 'accept: what a node without a listed key writes still counts (a bus migrating); refuse: it is forged, and such a node claims nothing')
      .description('what counts of claims, releases, responses and cards written in the name of a node the trust root lists no key for'),
  ).action(async (value: string, opts: KeyOpts) =>
    withBus(opts, async (ctx) => {
      const v = unlistedNodesFlag(value);
      const r = await trustChange(ctx, { kind: 'unlisted-nodes', value: v }, { key: await keyOf(opts, ctx.paths.home), ...(opts.replace ? { replace: true } : {}) });
      emit(opts, { ...r, unlistedNodes: v }, () => `unlisted nodes: ${v} in ${versionText(r)}`);
    }),
  );

  withCommon(
    groups.trust
      .command('node-key')
      .description('this node\'s own key: made if missing, offered on its node card, and listed when your configured key is an admin\'s (else the command an admin runs)')
      .option('--rotate', 'make a new key (the old one is kept as keys/node_ed25519.<time>.old): until an admin lists it, what this node writes does not count; restart the watcher afterwards'),
  ).action(async (opts: CommonOptions & { rotate?: boolean }) =>
    withBus(opts, async (ctx) => {
      const r = await ownNodeKey(ctx, { ...(opts.rotate ? { rotate: true } : {}) });
      emit(opts, r, () => ownKeyText(r));
    }),
  );
}

