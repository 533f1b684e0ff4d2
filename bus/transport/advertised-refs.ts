import { PktLineReader, pktText } from '../git/pkt-line.js';

const OID_RE = /^[0-9a-f]{40}$/;

/**
 * Refs (full name -> oid, `HEAD` included) from a v0/v1 ref advertisement, as every transport that is not a
 * local path reads them. Capabilities after the first NUL, peeled tags (`^{}`) and an empty repository's
 * `capabilities^{}` line are left out.
 */
export function parseAdvertisedRefs(adv: Uint8Array): Map<string, string> {
  const refs = new Map<string, string>();
  const reader = new PktLineReader(adv);
  let first = true;
  while (!reader.atEnd()) {
    const pkt = reader.next();
    if (pkt.type === 'flush') break;
    if (pkt.type !== 'data') continue;
    let line = pktText(pkt.data);
    if (first && line.startsWith('version ')) continue;
    if (first) {
      const nul = line.indexOf('\0');
      if (nul >= 0) line = line.slice(0, nul);
      first = false;
    }
    const sp = line.indexOf(' ');
    const oid = line.slice(0, sp);
    const name = line.slice(sp + 1);
    if (sp !== 40 || !OID_RE.test(oid)) continue;
    if (name.endsWith('^{}')) continue;
    refs.set(name, oid);
  }
  return refs;
}
