import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEST_CACHE_HOME } from './cli.js';
import { bundleFiles } from '../../cli/bundle-identity.js';

// End-to-end tests run the compiled CLI as separate OS processes; `npm test` builds first.
export default function setup(): void {
  for (const built of ['gitbus.mjs', 'gitbus-boot.cjs', ...bundleFiles()]) {
    const cli = fileURLToPath(new URL(`../../dist/cli/${built}`, import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" (or "npm test", which builds) first`);
  }
  // The boot's code cache (scripts/boot-cache.mjs), which the tests of the start expect: the build says why it could not make it.
  const bootCache = fileURLToPath(new URL(`../../dist/cli/gitbus-boot-${process.version}-${process.arch}.v8`, import.meta.url));
  if (!existsSync(bootCache)) throw new Error(`${bootCache} is missing: run "npm run build", and see what scripts/boot-cache.mjs says`);
  // No test reaches a TLS server (the HTTP remote tests serve plain http on loopback), and an environment that
  // points NODE_EXTRA_CA_CERTS at the system's bundle (220 KB here) makes every Node process parse it at start:
  // ~28 ms of CPU each, for the thousands of CLI and watcher processes the suite starts. Unset for the workers and
  // everything they start.
  delete process.env['NODE_EXTRA_CA_CERTS'];
  // Commands back to back would start a "gitbus serve" in the background for each test's home (cli/serve/auto-start.ts),
  // a process and a standby left to end by themselves ten minutes later: only the tests of that start it.
  process.env['GITBUS_SERVE_AUTO'] = '0';
  // bin/gitbus.js keeps its V8 code cache in $XDG_CACHE_HOME: for the processes tests start, the tests' own.
  process.env['XDG_CACHE_HOME'] = TEST_CACHE_HOME;
}
