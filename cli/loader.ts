// The entry of dist/cli/gitbus-loader.cjs, which bin/gitbus.js requires (cli/code-cache.ts).
import { runCli } from './code-cache.js';

runCli();
