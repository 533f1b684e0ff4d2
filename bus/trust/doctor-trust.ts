import { firstLine, GitbusError } from '../../schemas/errors.js';
import type { NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { fail, ok, skip, warn, type Check } from '../ops/doctor-check.js';
import { loadTrust } from './root.js';
import { adminKeysOf } from './version-content.js';
import { unacceptableRootFix } from './lint-trust-root.js';

const NAME = 'trust.root';

/**
 * `gitbus doctor`'s `trust.root`: whether the bus has a trust root, which version this node accepts (or why it
 * refuses the next one), and whether the version this node pinned is still the bus's.
 */
export async function checkTrustRoot(home: string, config: NodeConfig, snap: Snapshot | null): Promise<Check> {
  if (!snap) return skip(NAME, 'the bus could not be read');
  let report;
  try {
    report = await loadTrust(snap, home, config.trust ?? {});
  } catch (err) {
    return fail(NAME, firstLine(err), err instanceof GitbusError ? err.fix : 'run "gitbus trust list" for details');
  }
  const { pin, accepted, stop } = report;
  if (!report.present && !pin) return skip(NAME, 'the bus has no trust root: anyone who can push to it can make nodes with runners run anything; start one with "gitbus trust init --admin NAME=PUBKEYFILE --key KEYFILE"');
  if (!report.present && pin) {
    return fail(NAME, `the bus has no trust root, but this node pinned one (version ${pin.pinned.version}) and accepts version ${pin.accepted.version}: trust/ was removed from the bus`, `find out who removed it; this node keeps its own copy. If the admins ended trust on purpose, remove ${home}/trust-pin.json on this node`);
  }
  if (!pin && !accepted && stop?.status === 'refused' && stop.unsigned !== true) {
    return fail(NAME, `the bus's trust root cannot be accepted: ${stop.reason}; every "gitbus join" is refused until it is`, unacceptableRootFix(stop));
  }
  if (!pin) {
    const offer = accepted ? `version ${accepted.version} (${accepted.digest}), admin keys ${adminKeysOf(accepted).map((a) => `${a.principal} ${a.fingerprint}`).join(', ')}` : `a root that cannot be accepted: ${stop?.status === 'refused' ? stop.reason : 'version 1 waits for signatures'}`;
    const fps = accepted ? [...new Set(adminKeysOf(accepted).map((a) => a.fingerprint))].join(',') : 'FINGERPRINT,...';
    return warn(NAME, `the bus has a trust root, ${offer}, but this node has not pinned it`, `check the fingerprints with your admins, then "gitbus trust pin --trust ${fps}"`);
  }
  if (!accepted) return fail(NAME, 'this node has no accepted trust version', 'run "gitbus trust list" for details');
  const pinNote = report.pinMatches === null ? `pinned version ${pin.pinned.version} is not on the bus` : report.pinMatches ? `pinned version ${pin.pinned.version} matches the bus` : `pinned version ${pin.pinned.version} differs on the bus`;
  const head = `accepts version ${accepted.version} of ${report.newest} (${accepted.digest}; admins ${accepted.policy.admins.join(', ')}, threshold ${accepted.policy.threshold ?? 1}; maxHandoffAge ${accepted.policy.maxHandoffAge ?? 'none'}); ${pinNote}`;
  if (report.behind) return fail(NAME, `${head}; the bus's chain ends at version ${report.behind.bus}: versions this node accepted were removed`, 'find out who rewrote trust/; this node keeps the version it accepted');
  if (stop?.status === 'refused') return fail(NAME, `${head}; version ${stop.version} is refused: ${stop.reason}`, stop.fix);
  if (report.pinMatches === false) return fail(NAME, `${head}: the trust chain was rewritten since this node pinned it`, 'find out who rewrote trust/chain/; this node keeps the version it accepted');
  if (report.copies === 'differ' || report.copies === 'missing') return warn(NAME, `${head}; trust/allowed_signers and trust/policy.yaml ${report.copies === 'differ' ? 'differ from' : 'are missing for'} that version (nodes read the chain, never these copies)`, 'the next trust change or signature rewrites them; do not edit them by hand');
  if (stop?.status === 'pending') return ok(NAME, `${head}; version ${stop.version} is proposed and waits for ${stop.needed - stop.counted} more admin signature(s) (${stop.waitingFor.join(', ')})`);
  return ok(NAME, head);
}
