// Makes the boot's V8 code cache, dist/cli/gitbus-boot-<node>-<arch>.v8, which bin/gitbus.js hands V8 with the boot
// (docs/ARCHITECTURE.md "How the CLI starts"): compiled from its text the boot was ~2 ms of every start (issue 14,
// docs/PERFORMANCE.md "The boot from a code cache the build makes, and what a start compiled at every run"). The cache is taken from the boot as it ran: three
// runs of a command in a home of their own (the first makes the cache folders and the loader's cache, the second
// checks that cache, the third takes the path of every later start), the third writing it (GITBUS_BOOT_CACHE_OUT),
// with no Node options, as a plain start has none; then renamed into place. Caches of other Node versions left by
// earlier builds go. Whatever fails here, the build goes on without it: the boot is then compiled from its text, as
// on another Node.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = 'dist/cli';
let tmp;
try {
  for (const name of readdirSync(cli)) if (/^gitbus-boot-.*\.v8$/.test(name)) rmSync(join(cli, name), { force: true });
  tmp = mkdtempSync(join(tmpdir(), 'gitbus-boot-cache-'));
  const out = join(tmp, 'boot.v8');
  const env = { ...process.env, HOME: tmp, XDG_CACHE_HOME: join(tmp, 'cache'), GITBUS_SERVE_AUTO: '0' };
  for (const name of ['NODE_OPTIONS', 'GITBUS_CODE_CACHE', 'GITBUS_HOME', 'GITBUS_CODE_CACHE_REPORT', 'GITBUS_BOOT_CACHE_OUT']) delete env[name];
  for (let run = 1; run <= 3; run++) {
    // `status` on a home with no bus: the boot and the loader do all they do for any command, then the command fails.
    const r = spawnSync(process.execPath, ['bin/gitbus.js', 'status', '--home', join(tmp, 'home')], { env: run === 3 ? { ...env, GITBUS_BOOT_CACHE_OUT: out } : env, encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.signal) throw r.error ?? new Error(`the run was ended by ${r.signal}`);
  }
  renameSync(out, join(cli, `gitbus-boot-${process.version}-${process.arch}.v8`));
} catch (err) {
  process.stderr.write(`scripts/boot-cache.mjs: the boot's code cache could not be made (${String(err).split('\n')[0]}); gitbus runs without it, a little slower to start\n`);
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
