import type { FileProblem } from '../../schemas/errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { linkPath } from './chain-files.js';
import type { Step } from './chain.js';
import { evaluateTrust, readChain } from './root.js';

type Stop = Extract<Step, { status: 'pending' | 'refused' }>;

/**
 * The fix for a trust root that no node can accept from version 1, for the person who meets it (a joiner, lint,
 * doctor): the chain is the admins' to repair, and the file is named, so that it is not mistaken for a fault of
 * the machine that meets it. A root nobody meant to start (junk pushed by someone with push access) is removed.
 */
export function unacceptableRootFix(stop: Stop): string {
  return `the bus's admins repair ${linkPath(stop.version)}: ${stop.status === 'refused' ? stop.fix : 'they sign it with "gitbus trust sign 1 --key KEY"'}; if nobody meant to start a trust root, remove trust/ from main (git rm -r trust, commit, push)`;
}

/**
 * What `gitbus lint` says of the trust root (docs/PROTOCOL.md §12), judged as a machine that joins judges it, from
 * version 1 with no pin: a root that cannot be accepted refuses every join (an error at the version's link); a
 * later version that is refused leaves nodes on the one before (a warning there); files in trust/chain/ that break
 * its naming or are not regular files are named too. Proposals waiting for signatures are not problems. Each node
 * still judges from its own pin: `gitbus doctor` and `gitbus trust list` say what it accepts.
 */
export async function trustRootProblems(snap: Snapshot, now = new Date()): Promise<FileProblem[]> {
  const chain = await readChain(snap);
  if (!chain.present && chain.problems.length === 0) return [];
  const report = evaluateTrust(chain, null, null, { node: {}, now });
  const out = [...chain.problems];
  const stop = report.stop;
  if (!chain.present || !stop) return out;
  const path = linkPath(stop.version);
  if (!report.accepted) {
    const why = stop.status === 'pending' ? `version 1 waits for signatures of its admins (${stop.counted} of ${stop.needed})` : stop.reason;
    // A version 1 that is sound but not yet signed is a root being set up: said, not an error.
    const severity = stop.status === 'pending' || stop.unsigned === true ? 'warning' : 'error';
    out.push({ path, field: '', reason: `the bus's trust root cannot be accepted: ${why}; every "gitbus join" is refused until it is`, fix: unacceptableRootFix(stop), severity });
  } else if (stop.status === 'refused') {
    out.push({ path, field: '', reason: `trust version ${stop.version} is refused: ${stop.reason}; nodes stay at version ${report.accepted.version}`, fix: stop.fix, severity: 'warning' });
  }
  return out;
}
