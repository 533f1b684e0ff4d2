import { createRequire } from 'node:module';

/**
 * Node's require, for what gitbus loads on first use (Node's modules that cost a start, and the packages only some
 * commands need). In the CommonJS bundles scripts/bundle.mjs makes this module the bundle's own `require`: creating
 * one there cost every start node:module's public module and the file URL of the bundle (~0.3-0.5 ms, issue 14,
 * docs/PERFORMANCE.md "The loader's and the bundle's own start"). Every module of gitbus's sits in its package, so a
 * require from here finds what one from any of them would. A named `ownRequire`, not `require`: the ES build's
 * chunks declare a `require` of their own.
 */
export const ownRequire: NodeJS.Require = createRequire(import.meta.url);
