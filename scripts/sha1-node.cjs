// sha.js's sha1.js for the ES module bundle (scripts/bundle.mjs aliases it): isomorphic-git's only use of sha.js is
// `new Hash().update(buffer).digest(encoding)`, which node:crypto's SHA-1 answers the same; sha.js's require chain
// of polyfill packages cost ~35 ms of a command's start (bus/git/iso-git.ts does the same for the other builds).
'use strict';
const { createHash } = require('node:crypto');
module.exports = function Sha1() {
  return createHash('sha1');
};
