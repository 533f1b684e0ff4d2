import type { parseSettingsFile } from '../../schemas/bus-file.js';
import { jsonExact, loadKeyed, saveKeyed, type KeyedCacheKind } from '../store/keyed-cache-file.js';
import { BUILD_ID } from '../store/parse-cache.js';
import { joinPlain } from '../join-plain.js';

/**
 * gitbus.yaml as the node parsed it, by blob id: `<clone>/gitbus-cache/settings.cache`. Every snapshot reads the
 * settings, and a command in a process of its own parsed them as YAML at every run, which warmed up the YAML parser
 * for that file alone on a bus whose other files come from the parse cache (issue 14, session 38). A blob never
 * changes, so its parse is kept as the parse cache keeps the other files'; a file of another build or damaged is
 * ignored and written again.
 */
type SettingsResult = ReturnType<typeof parseSettingsFile>;

const NAME = 'settings.cache';
/** Versions of gitbus.yaml kept: a node meets few, and an older commit (an archived task's) may be read again. */
const KEEP = 4;
const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const KIND: KeyedCacheKind = { magic: 'gitbus-settings\n', format: 1, maxBytes: 256 * 1024, validKey: (k) => OID.test(k) };

function dirOf(gitdir: string): string {
  return joinPlain(gitdir, 'gitbus-cache');
}

/** The parse of gitbus.yaml's blob `oid` as kept, if it is. */
export function settingsOnDisk(gitdir: string, oid: string, build = BUILD_ID): SettingsResult | undefined {
  return loadKeyed(joinPlain(dirOf(gitdir), NAME), KIND, build).get(oid) as SettingsResult | undefined;
}

/** Keeps the parse of blob `oid` first, with the few kept before it; one JSON would not give back as it is stays out. */
export function keepSettingsOnDisk(gitdir: string, oid: string, result: SettingsResult, build = BUILD_ID): boolean {
  if (!jsonExact(result)) return false;
  const kept = loadKeyed(joinPlain(dirOf(gitdir), NAME), KIND, build);
  const entries = new Map<string, unknown>([[oid, result], ...[...kept].filter(([k]) => k !== oid).slice(0, KEEP - 1)]);
  return saveKeyed(dirOf(gitdir), NAME, KIND, entries, build);
}
