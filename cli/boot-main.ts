// The entry of dist/cli/gitbus-boot.cjs, which bin/gitbus.js compiles and runs (cli/boot.ts).
import { boot } from './boot.js';

boot();
