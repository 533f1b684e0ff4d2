import { existsSync, readFileSync } from 'node:fs';
import { firstLine } from '../../schemas/errors.js';
import type { NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { fail, ok, skip, warn, type Check } from '../ops/doctor-check.js';
import { readKeyFile } from './key-file.js';
import { nodeKeyPaths } from './node-key.js';
import { addNodeCommand, ownKeyStanding } from './node-key-status.js';
import { loadTrust } from './root.js';
import type { SshPublicKey } from './ssh-key.js';

const NAME = 'trust.node-key';

/**
 * `gitbus doctor`'s `trust.node-key`: whether the trust version this node accepts lists this node's own key
 * (docs/PROTOCOL.md §12, "Node keys"). Only for a node that pinned a trust root: elsewhere nothing checks keys.
 */
export async function checkNodeKey(home: string, config: NodeConfig, snap: Snapshot | null): Promise<Check> {
  if (!snap) return skip(NAME, 'the bus could not be read');
  let report;
  try {
    report = await loadTrust(snap, home, config.trust ?? {});
  } catch (err) {
    return skip(NAME, `the trust root cannot be read (${firstLine(err)}; see trust.root)`);
  }
  const v = report.accepted;
  if (!report.pin || !v) return skip(NAME, 'this node has not pinned a trust root, so nothing checks node keys here');
  const { privatePath } = nodeKeyPaths(home);
  let own: SshPublicKey | null = null;
  if (existsSync(privatePath)) {
    try {
      own = readKeyFile(readFileSync(privatePath, 'utf8'), privatePath).key;
    } catch (err) {
      return fail(NAME, `this node's key ${privatePath} cannot be read: ${firstLine(err)}`, `move it aside and make a new one with "gitbus trust node-key --rotate"; an admin then lists it`);
    }
  }
  const node = config.node;
  const s = ownKeyStanding(v, node, own);
  const refuse = (s.state === 'unlisted' || s.state === 'no-key') && s.unlistedNodes === 'refuse';
  const refuseNote = 'trust version refuses unlisted nodes: this node claims nothing until listed';
  switch (s.state) {
    case 'listed':
      return ok(NAME, `this node's key ${s.fingerprint} is listed for ${node} in trust version ${v.version}`);
    case 'unlisted': {
      const detail = `this node's key ${s.fingerprint} is not listed in trust version ${v.version}`;
      const fix = `an admin checks the fingerprint with you and runs: ${addNodeCommand(node, s.fingerprint)}`;
      return refuse ? fail(NAME, `${detail}, and that ${refuseNote}`, fix) : warn(NAME, `${detail} (it accepts unlisted nodes for now)`, fix);
    }
    case 'differs':
      return fail(NAME, `the node's key changed: trust version ${v.version} lists ${s.listed.join(', ')} for ${node}, but this node's key is ${s.fingerprint}, so what it writes counts as forged`, `an admin runs ${addNodeCommand(node, s.fingerprint)} to rotate (or restore the old key file in ${privatePath})`);
    case 'no-key': {
      if (s.listed.length > 0) return fail(NAME, `trust version ${v.version} lists the key ${s.listed.join(', ')} for ${node}, but this node has no key (${privatePath})`, `restore ${privatePath} from a backup, or make a new key with "gitbus trust node-key" and have an admin rotate it`);
      const detail = `this node has no key yet (${privatePath})`;
      const fix = '"gitbus trust node-key" makes it, offers it on the node card and says what an admin runs';
      return refuse ? fail(NAME, `${detail}, and its ${refuseNote}`, fix) : warn(NAME, detail, fix);
    }
  }
}
