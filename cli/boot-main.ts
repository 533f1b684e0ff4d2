// The entry of dist/cli/gitbus-boot.cjs, which bin/gitbus.js requires (cli/boot.ts).
import { boot } from './boot.js';

boot();
