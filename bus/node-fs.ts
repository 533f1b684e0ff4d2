import { ownRequire } from '../schemas/own-require.js';

// One node:fs for the modules that hand `fs` on as a value (to isomorphic-git, to the object writers) or use many of
// its functions. Node's own module object, through require(): the CLI's CommonJS bundle turns an `import * as fs from
// 'node:fs'` into a copy of fs's ~100 properties as getters, made when the module loads. Ten such copies were ~3 ms of
// every `status` start (issue 14, docs/PERFORMANCE.md "Start-up: one copy of node:fs"); the one copy left was 60 KB of
// the ~2 MB a `dispatch` allocates before its heap's young generation fills (docs/PERFORMANCE.md "Fewer scavenges").
export const fs = ownRequire('node:fs') as typeof import('node:fs');
