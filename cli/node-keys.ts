import { createInterface } from 'node:readline';
import { openBus } from '../bus/context.js';
import type { NodeKeysView } from '../bus/trust/node-key-status.js';
import { ownNodeKey, type NodeKeyOffer, type OwnNodeKeyResult } from '../bus/trust/node-listing.js';
import { terminalText } from '../schemas/output-text.js';
import { note } from './output.js';

/** Node keys as people see them (docs/PROTOCOL.md §12, "Node keys"): the prompt, and what join, pin and trust say. */

/** Asks on the terminal whether a card's key is the node's; undefined when stdin or stderr is not a terminal. */
export function nodeKeyConfirm(): ((offer: NodeKeyOffer) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (offer) =>
    new Promise((resolve) => {
      const replaces = offer.listed.length > 0 ? `\nIt replaces the key the trust root lists for ${offer.node} now: ${offer.listed.join(', ')}.` : '';
      process.stderr.write(
        terminalText(
          `Node ${offer.node}'s card offers the key ${offer.fingerprint} (${offer.keyType}).${replaces}\nAnyone who can push to the bus can write a card: compare this fingerprint with the one "gitbus trust node-key" shows on ${offer.node}.\nList this key for node ${offer.node} (yes/no)? `,
        ),
      );
      const rl = createInterface({ input: process.stdin, terminal: false });
      rl.once('line', (answer) => {
        // Before close(): it emits 'close' at once, whose "no" would otherwise win.
        resolve(/^y(es)?$/i.test(answer.trim()));
        rl.close();
      });
      rl.once('close', () => resolve(false));
    });
}

/** What join, pin and `trust node-key` say about this node's own key. */
export function ownKeyText(r: OwnNodeKeyResult): string {
  const lines: string[] = [];
  const head = `this node's key: ${r.fingerprint}${r.created ? ' (made now' : ''}${r.previous ? `${r.created ? ', ' : ' ('}replacing ${r.previous.fingerprint}, kept in ${r.previous.path}` : ''}${r.created || r.previous ? ')' : ''}`;
  lines.push(head);
  const l = r.listing;
  switch (l.status) {
    case 'listed':
      lines.push(`it is listed in trust version ${l.version}`);
      break;
    case 'written':
      lines.push(`listed it in trust version ${l.version} (${l.digest}), signed with your admin key`);
      break;
    case 'proposed':
      lines.push(`proposed trust version ${l.version} listing it: it needs ${l.needed} admin signatures and waits for ${l.waitingFor.join(', ')} ("gitbus trust sign ${l.version} --key KEY")`);
      break;
    case 'awaiting-admin':
      lines.push(`it is not listed in trust version ${l.version}${l.replaces.length > 0 ? `, which lists ${l.replaces.join(', ')} for this node` : ''} (${l.why})`);
      lines.push(`an admin checks the fingerprint with you and runs:\n  ${l.command}`);
      if (l.unlistedNodes === 'refuse' || l.replaces.length > 0) lines.push('until then this node claims nothing: what it writes does not count');
      break;
    case 'no-trust':
      lines.push(l.why);
      break;
  }
  return lines.join('\n');
}

/** `trust list`'s lines about node keys. `unpinned`: nodes that have not pinned the root ("gitbus trust pin" makes their key). */
export function nodeKeysText(v: NodeKeysView, unpinned: ReadonlySet<string> = new Set()): string[] {
  const lines = [`unlisted nodes: ${v.unlistedNodes}${v.unlistedNodes === 'refuse' ? ' (what a node without a listed key writes is forged; it claims nothing)' : ' (what a node without a listed key writes still counts)'}`];
  lines.push(v.listed.length > 0 ? 'node keys:' : 'node keys: none listed');
  for (const n of v.listed) lines.push(`  ${n.node}  ${n.fingerprint}`);
  if (v.awaiting.length > 0) {
    lines.push('awaiting an admin (the key a node card offers; check it with the node first):');
    for (const a of v.awaiting) lines.push(`  ${a.node}  ${a.fingerprint}${a.listed.length > 0 ? `  (differs from the listed ${a.listed.join(', ')})` : ''}\n    ${a.command}`);
  }
  const pinning = v.unkeyed.filter((n) => unpinned.has(n));
  const keying = v.unkeyed.filter((n) => !unpinned.has(n));
  if (pinning.length > 0) lines.push(`nodes without a key that have not pinned the root: ${pinning.join(', ')} (pinning it there makes and offers one: see below)`);
  if (keying.length > 0) lines.push(`nodes without a key: ${keying.join(', ')} ("gitbus trust node-key" on each makes and offers one)`);
  return lines;
}

/** After join or pin: this node's key, made, offered and listed where it can be. */
export async function ownKeyAfterPin(home: string): Promise<OwnNodeKeyResult> {
  const ctx = await openBus(home);
  try {
    return await ownNodeKey(ctx);
  } finally {
    await ctx.repo.close();
  }
}

/** For join and pin: says, on stderr, that this node's key could not be looked at, without failing the command. */
export function ownKeyFailed(err: unknown): void {
  note(`gitbus: warning: this node's key could not be offered or listed: ${(err as Error).message.split('\n')[0] ?? ''} (run "gitbus trust node-key" to try again)`);
}
