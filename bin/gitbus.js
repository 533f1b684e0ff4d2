#!/usr/bin/env node
// CommonJS (bin/package.json): Node starts a CommonJS entry ~5 ms faster than an ES module one, which counts on
// a command's start (issue 14). The boot (dist/cli/gitbus-boot.cjs, cli/boot.ts) is compiled here, with the V8 code
// cache the build made for it beside it for the Node that built it (scripts/boot-cache.mjs): ~2 ms of every start
// were the boot compiled from its text. The boot runs the loader with a code cache of its own, and the loader the
// command's bundle with one, or the ES module build with GITBUS_CODE_CACHE=0 (docs/ARCHITECTURE.md "How the CLI
// starts").
'use strict';
const { readFileSync, writeFileSync, writeSync } = require('node:fs');
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
// The cache file: the boot's text it was made from, the cache, the cache again, each from an 8-byte boundary (V8
// copies data that is not), the two lengths (4 bytes each) and TRAILER. Used only when the text is the boot's, byte
// for byte (V8 checks a cache against its source's length, not its text), and the two copies are the same: V8 checks
// no sum of the data, and a byte changed in it can kill the process; a checksum here, compiled at every start, would
// cost ~0.25 ms, where comparing the copies is a memcmp. A file cut short has no trailer.
const TRAILER = 'gitbus-boot-cache';
const align8 = (n) => (n + 7) & ~7;
let cachedData;
let state = 'off';
if (process.env.GITBUS_CODE_CACHE !== '0') {
  state = 'none';
  try {
    const bytes = readFileSync(join(dir, `gitbus-boot-${process.version}-${process.arch}.v8`));
    const end = bytes.length - TRAILER.length - 8;
    const textLength = bytes.readUInt32LE(end);
    const cacheLength = bytes.readUInt32LE(end + 4);
    const first = align8(textLength);
    const second = first + align8(cacheLength);
    const whole = cacheLength > 0 && second + align8(cacheLength) === end && bytes.toString('latin1', end + 8) === TRAILER;
    if (whole && bytes.toString('latin1', 0, textLength) === text && bytes.compare(bytes, first, first + cacheLength, second, second + cacheLength) === 0) {
      cachedData = bytes.subarray(first, first + cacheLength);
    }
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
// The build's last run (scripts/boot-cache.mjs) writes the boot's cache as it ran, after the boot's own exit handler
// (set as it ran); taken out of the environment, so that nothing this process starts inherits it.
const out = process.env.GITBUS_BOOT_CACHE_OUT;
delete process.env.GITBUS_BOOT_CACHE_OUT;
const booting = { exports: {} };
wrapper(booting.exports, require, booting, file, dir);
if (out) process.once('exit', () => writeFileSync(out, bootCacheFile(text, script.createCachedData())));

/** The cache file's bytes (see above). */
function bootCacheFile(source, cache) {
  const padded = (bytes) => Buffer.concat([bytes, Buffer.alloc(align8(bytes.length) - bytes.length)]);
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(source.length);
  lengths.writeUInt32LE(cache.length, 4);
  return Buffer.concat([padded(Buffer.from(source, 'latin1')), padded(cache), padded(cache), lengths, Buffer.from(TRAILER, 'latin1')]);
}

/** The boot cannot run: the installation is damaged (exit 7, as for a damaged loader or bundle, cli/boot.ts). */
function damaged(why) {
  // To the descriptor: process.stderr may be asynchronous (a pipe on macOS), and the process exits at once.
  writeSync(2, `gitbus: ${file} is damaged: ${why}, so nothing ran\n  fix: install gitbus again (or run "npm run build" in its folder)\n`);
  process.exit(7);
}
