/** gitbus's version for `gitbus --version` (bus/version.ts loads nothing else). */
export { GITBUS_VERSION } from '../bus/version.js';
