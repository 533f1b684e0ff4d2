// One namespace object of node:fs for the modules that hand `fs` on as a value (to isomorphic-git, to the object
// writers) or use many of its functions. The CLI's CommonJS bundle turns each `import * as fs from 'node:fs'` into a
// copy of fs's ~100 properties as getters, made when the module loads: ten such copies were ~3 ms of every `status`
// start (issue 14, docs/PERFORMANCE.md "Start-up: one copy of node:fs").
import * as fs from 'node:fs';

export { fs };
