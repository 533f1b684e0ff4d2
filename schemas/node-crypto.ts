import { createRequire } from 'node:module';

/**
 * node:crypto, loaded on first use. Loading it runs ~15 of Node's own modules (~12 M instructions), which `status`
 * on a local bus paid at every start for modules it loads but whose hashes, keys and random names it does not need
 * (docs/PERFORMANCE.md "Start-up: one copy of node:fs, node:crypto on first use"). A named `load`, not `require`:
 * the ES build's chunks declare a `require` of their own (scripts/bundle.mjs).
 */
const load = createRequire(import.meta.url);
let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  loaded ??= load('node:crypto') as typeof import('node:crypto');
  return loaded;
}
