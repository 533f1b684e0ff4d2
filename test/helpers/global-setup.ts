import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// End-to-end tests run the compiled CLI as separate OS processes; `npm test` builds first.
export default function setup(): void {
  for (const built of ['gitbus.mjs', 'gitbus.cjs', 'gitbus-loader.cjs']) {
    const cli = fileURLToPath(new URL(`../../dist/cli/${built}`, import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" (or "npm test", which builds) first`);
  }
}
