// Feasibility probe (issue 14, session 11): builds a V8 userland startup snapshot of the CLI bundle
// (dist/cli/gitbus.cjs) with the modules of the short bus commands already initialised. Not the product's path:
// bin/gitbus.js is unchanged. Usage (after npm run build): node bench/snapshot-probe/build.mjs [out.blob], with
// SNAP_PRELOAD=status,dispatch (default; empty for the top level only) and SNAP_TRAIN (below). Numbers, and what
// broke: docs/PERFORMANCE.md "A V8 startup snapshot, probed (issue 14, session 11)".
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bundle = join(root, 'dist/cli/gitbus.cjs');
const blob = resolve(process.argv[2] ?? join(here, 'gitbus.blob'));
const entry = join(here, 'snapshot-entry.cjs');
// Which command modules to initialise while building (their schemas built, their top levels run).
const preload = (process.env.SNAP_PRELOAD ?? 'status,dispatch').split(',').filter(Boolean);
// SNAP_TRAIN="HOME|cmd arg arg;HOME|cmd ...": commands run while building (output dropped), so that the functions they
// call are compiled into the snapshot too (what the code cache gets by being taken at exit). Their module-level
// state (memos, caches) is captured with them: a real implementation would have to reset it.
const train = (process.env.SNAP_TRAIN ?? '').split(';').filter(Boolean).map((t) => { const [home, line] = t.split('|'); return { home, args: line.split(' ') }; });

let src = readFileSync(bundle, 'latin1');
const START = 'void start();';
if (src.split(START).length !== 2) throw new Error('the bundle must call start() once (cli/main-cjs.ts)');
// Instead of running a command, the bundle hands the snapshot entry what it needs to run one later.
src = src.replace(START, `module.exports.__snap = { start, run: run2, COMMANDS, registerCommand, newProgram };`);

writeFileSync(
  entry,
  `'use strict';
const v8 = require('node:v8');
const BUNDLE = ${JSON.stringify(bundle)};
const DIR = ${JSON.stringify(dirname(bundle))};
const PRELOAD = ${JSON.stringify(preload)};
const TRAIN = ${JSON.stringify(train)};
// While building, require() is the snapshot builder's: built-in modules only. The bundle requires node_modules
// packages (cron, isomorphic-git, ...) only on first use, so at run time it gets a real require for its own path.
let req = require;
const proxy = (id) => req(id);
proxy.resolve = (id, o) => req.resolve(id, o);
const mod = { exports: {} };
const fn = ${src};
fn(mod.exports, proxy, mod, BUNDLE, DIR);
const snap = mod.exports.__snap;
async function warm() {
  // What registerCommand does for a short command, done once at build time: zod jitless, then the command's module,
  // the remote layer and the passphrase prompt initialised (their schemas built).
  for (const name of PRELOAD) {
    const entry = snap.COMMANDS.find((c) => c.name === name);
    if (!entry) throw new Error('no command ' + name);
    const program = snap.newProgram();
    await snap.registerCommand(program, entry);
  }
  if (TRAIN.length === 0) return;
  // stdout is not made while building: the output goes to a stand-in, and process.stdout is put back after.
  const desc = Object.getOwnPropertyDescriptor(process, 'stdout');
  const sink = { write: () => true, on() { return sink; }, once() { return sink; }, isTTY: false, columns: undefined, end() {} };
  Object.defineProperty(process, 'stdout', { value: sink, configurable: true });
  const argv = process.argv, home = process.env.GITBUS_HOME;
  // Node removes SharedArrayBuffer while building a snapshot (it is back at run time): bus/lock.ts's synchronous
  // lock makes one for Atomics.wait, which it calls only when the lock is held by another process.
  globalThis.SharedArrayBuffer = ArrayBuffer;
  try {
    for (const t of TRAIN) {
      process.env.GITBUS_HOME = t.home;
      process.argv = [process.execPath, BUNDLE, ...t.args];
      await snap.run(snap.COMMANDS.find((c) => c.name === t.args[0]));
    }
  } finally {
    Object.defineProperty(process, 'stdout', desc);
    process.argv = argv;
    if (home === undefined) delete process.env.GITBUS_HOME; else process.env.GITBUS_HOME = home;
    process.exitCode = 0;
    delete globalThis.SharedArrayBuffer;
  }
}
warm().then(() => {
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    req = require('node:module').createRequire(BUNDLE);
    // node --snapshot-blob blob a b: process.argv is [node, a, b]; commander wants [node, script, a, b].
    if (process.env.SNAP_ARGV_SHIFT !== '0') process.argv.splice(1, 0, BUNDLE);
    void snap.start();
  });
});
`,
);
const t0 = Date.now();
execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', entry], { stdio: 'inherit' });
console.error(`built ${blob} in ${Date.now() - t0} ms`);
