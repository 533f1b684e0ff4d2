#!/usr/bin/env node
// CommonJS (bin/package.json): Node starts a CommonJS entry ~5 ms faster than an ES module one, which counts on
// a command's start (issue 14). The boot (dist/cli/gitbus-boot.cjs, cli/boot.ts) is compiled here, with the V8 code
// cache the build made for it beside it for the Node that built it (scripts/boot-cache.mjs): ~2 ms of every start
// were the boot compiled from its text. The boot runs the loader with a code cache of its own, and the loader the
// command's bundle with one, or the ES module build with GITBUS_CODE_CACHE=0 (docs/ARCHITECTURE.md "How the CLI
// starts"). The cache file holds the boot's text it was made from, checked against the file's here, so that it is
// used only for the boot it was made for; then V8 checks its own version and flags.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const dir = join(__dirname, '..', 'dist', 'cli');
const file = join(dir, 'gitbus-boot.cjs');
let text;
try {
  text = readFileSync(file, 'latin1');
} catch (err) {
  damaged(`it cannot be read (${err.code ?? err})`);
}
const cacheFile = join(dir, `gitbus-boot-${process.version}-${process.arch}.v8`);
const TRAILER = 'gitbus-boot-cache';
let cachedData;
let state = 'off';
if (process.env.GITBUS_CODE_CACHE !== '0') {
  state = 'none';
  try {
    // The boot's text, the cache, the text's length (4 bytes) and TRAILER: a file cut short has no trailer.
    const bytes = readFileSync(cacheFile);
    const end = bytes.length - TRAILER.length - 4;
    const length = end > 0 ? bytes.readUInt32LE(end) : -1;
    if (length > 0 && length < end && bytes.toString('latin1', end + 4) === TRAILER && bytes.toString('latin1', 0, length) === text) cachedData = bytes.subarray(length, end);
  } catch {
    // None for this Node, or unreadable: the boot is compiled from its text.
  }
}
let script;
let wrapper;
try {
  script = new Script(text, { filename: file, ...(cachedData ? { cachedData } : {}) });
  wrapper = script.runInThisContext();
} catch (err) {
  // Cut short by an interrupted copy, mostly: a SyntaxError.
  damaged(`it does not compile (${String(err).split('\n')[0]})`);
}
if (typeof wrapper !== 'function') damaged('it is not the boot');
if (cachedData) state = script.cachedDataRejected === true ? 'rejected' : 'accepted';
// What the boot takes from here: its cache's state for the report line, and an import() of a module Node compiled (in
// a vm.Script, as the boot now is, import() fails on Node 20), for the ES module build.
globalThis[Symbol.for('gitbus.bin')] = { bootCache: state, importModule: (url) => import(url) };
const booting = { exports: {} };
wrapper(booting.exports, require, booting, file, dir);
// The build's runs (scripts/boot-cache.mjs): the boot's code as it ran, after its exit handler (set as it ran).
const out = process.env.GITBUS_BOOT_CACHE_OUT;
if (out) {
  process.once('exit', () => {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(text.length);
    writeFileSync(out, Buffer.concat([Buffer.from(text, 'latin1'), script.createCachedData(), length, Buffer.from(TRAILER, 'latin1')]));
  });
}

/** The boot cannot run: the installation is damaged (exit 7, as for a damaged loader or bundle, cli/boot.ts). */
function damaged(why) {
  process.stderr.write(`gitbus: ${file} is damaged: ${why}, so nothing ran\n  fix: install gitbus again (or run "npm run build" in its folder)\n`);
  process.exit(7);
}
