import type { Command } from 'commander';
import type { BusContext } from '../bus/context.js';
import { commandSigner, type BusFileSigner } from '../bus/trust/dispatch-signing.js';

/** `--unsigned`, for the commands that sign what they write (dispatch, run, fanout, resume, resolve, cancel). */
export function withUnsignedFlag(cmd: Command): Command {
  return cmd.option('--unsigned', 'write it without a signature even on a bus with a trust root (while a bus migrates to signed handoffs; nodes that enforce trust refuse it)');
}

/** The signer for this command: the configured key, none, or an error naming the fix (bus/trust/dispatch-signing.ts). */
export function signerFor(ctx: BusContext, opts: { unsigned?: boolean }): Promise<BusFileSigner | undefined> {
  return commandSigner(ctx, opts.unsigned ? { unsigned: true } : {});
}
