import { firstLine, GitbusError } from '../../schemas/errors.js';
import type { NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { fail, ok, skip, warn, type Check } from '../ops/doctor-check.js';
import { lookAtProfile } from './report.js';
import { countsText, cardEnvOf } from './states.js';
import { ownCopyHint } from './hint-commands.js';

/**
 * `gitbus doctor`'s `env.<profile>` for each profile node.yaml subscribes to (`findHome` gives the user's home, or
 * throws why there is none: then `env.home` fails instead): whether it can be applied here
 * (on the bus, valid, trusted), this node's files by state, and what the other nodes' cards say of theirs (seed
 * 000's health monitor, which compared one file's hash across two machines).
 */
export async function checkEnvProfiles(home: string, config: NodeConfig, snap: Snapshot | null, findHome: () => string): Promise<Check[]> {
  const subs = config.env ?? [];
  if (subs.length === 0) return [];
  let userHome: string;
  try {
    userHome = findHome();
  } catch (err) {
    // HOME pointing nowhere (ENV_HOME_MISSING) is one failure with its fix, not each profile's files all missing.
    const names = [...new Set(subs.map((s) => s.profile))];
    return [
      fail('env.home', `${firstLine(err)}; ${names.length === 1 ? 'profile' : 'profiles'} ${names.join(', ')} cannot be looked at or applied here`, err instanceof GitbusError ? err.fix : 'set HOME to your home folder, an absolute path that exists, and run "gitbus doctor" again'),
      ...names.map((n) => skip(`env.${n}`, 'no home folder to look at its files in (env.home)')),
    ];
  }
  const out: Check[] = [];
  for (const sub of subs) {
    const name = `env.${sub.profile}`;
    if (out.some((c) => c.name === name)) continue;
    if (!snap) {
      out.push(skip(name, 'the bus could not be read'));
      continue;
    }
    try {
      const look = await lookAtProfile(snap, { home, config }, userHome, sub.profile, sub.apply);
      const r = look.report;
      const fleet = await fleetText(snap, config.node, sub.profile);
      if (r.problem !== null) {
        out.push(fail(name, `${sub.profile} (${sub.apply}): ${r.problem}${fleet}`, r.fix ?? `see "gitbus env status ${sub.profile}"`));
        continue;
      }
      const card = cardEnvOf(sub.profile, sub.apply, r.files);
      const text = `${sub.profile} (${sub.apply}) in ${userHome}: ${countsText(card.counts)}${card.drift ? ` (${card.drift.map((d) => `${d.target} ${d.state}`).join(', ')}${card.more ? `, +${card.more}` : ''})` : ''}${fleet}`;
      const c = card.counts;
      if ((c.conflict ?? 0) > 0 || (c['changed-here'] ?? 0) > 0) {
        const own = (look.plan?.files ?? []).filter((f) => f.perNode && (f.state === 'conflict' || f.state === 'changed-here')).map((f) => f.target);
        out.push(warn(name, text, `look at "gitbus env diff ${sub.profile}", then capture what every node should have ("gitbus env capture ${sub.profile}", with --force for a conflict) or take the bus's ("gitbus env apply ${sub.profile} --force"; a backup is kept)${own.length > 0 ? `; ${ownCopyHint(sub.profile, own)}` : ''}`));
      }
      else if ((c['changed-in-bus'] ?? 0) > 0 || (c['missing-here'] ?? 0) > 0) out.push(warn(name, text, sub.apply === 'auto' ? 'the watcher applies it at its next wake; is it running? ("gitbus watch", "gitbus service status")' : `apply it: "gitbus env apply ${sub.profile}" (or subscribe with apply: auto)`));
      else out.push(ok(name, text));
    } catch (err) {
      out.push(fail(name, firstLine(err), err instanceof GitbusError ? err.fix : `run "gitbus env status ${sub.profile}" for details`));
    }
  }
  return out;
}

/** "; other nodes: gpu in sync, mac 1 conflict" from the other nodes' cards. */
async function fleetText(snap: Snapshot, self: string, profile: string): Promise<string> {
  const parts: string[] = [];
  for (const n of await snap.nodes()) {
    if (n.node === self) continue;
    const e = n.card?.env?.find((x) => x.profile === profile);
    if (!e) continue;
    parts.push(e.problem ? `${n.node} ${e.problem}` : `${n.node} ${countsText(e.counts)}`);
  }
  return parts.length ? `; other nodes: ${parts.join('; ')}` : '';
}
