import { existsSync } from 'node:fs';
import type { NodeConfig } from './home.js';
import { jsonExact, loadKeyed, saveKeyed, type KeyedCacheKind } from './store/keyed-cache-file.js';
import { BUILD_ID } from './store/parse-cache.js';
import { joinPlain } from './join-plain.js';

/**
 * node.yaml as the node parsed it, with the text it was parsed from: `<clone>/gitbus-cache/node-config.cache`. Every
 * command reads node.yaml, and one in a process of its own parsed it as YAML and checked it at every run: with the
 * bus's files from the parse cache and gitbus.yaml from settings-disk-cache.ts, a `status` then runs no YAML at all
 * (the parser's code cold, ~10 % of its CPU on a small bus; issue 14, session 38). Used only for the very text it
 * was parsed from; a file of another build or damaged is ignored and written again.
 */
const NAME = 'node-config.cache';
const KEY = 'node.yaml';
const KIND: KeyedCacheKind = { magic: 'gitbus-node-config\n', format: 1, maxBytes: 256 * 1024, validKey: (k) => k === KEY };

interface Entry {
  text: string;
  config: NodeConfig;
}

function dirOf(clone: string): string {
  return joinPlain(clone, 'gitbus-cache');
}

/** The settings parsed from exactly `text` as kept, if they are. */
export function nodeConfigOnDisk(clone: string, text: string, build = BUILD_ID): NodeConfig | undefined {
  const e = loadKeyed(joinPlain(dirOf(clone), NAME), KIND, build).get(KEY) as Partial<Entry> | undefined;
  return e?.text === text && e.config && typeof e.config === 'object' ? e.config : undefined;
}

/** Keeps the settings parsed from `text`: only in a home whose clone is there, and only what JSON gives back as it is. */
export function keepNodeConfigOnDisk(clone: string, text: string, config: NodeConfig, build = BUILD_ID): boolean {
  // A home without its clone (being joined, or its clone moved aside to be made again) gets no folder made in it.
  if (!jsonExact(config) || !existsSync(clone)) return false;
  return saveKeyed(dirOf(clone), NAME, KIND, new Map([[KEY, { text, config }]]), build);
}
