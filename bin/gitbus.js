#!/usr/bin/env node
// CommonJS (bin/package.json): Node starts a CommonJS entry ~5 ms faster than an ES module one, which counts on
// a command's start (issue 14). The boot runs the loader with a V8 code cache (cli/boot.ts), and the loader the CLI
// bundle with one, or the ES module build with GITBUS_CODE_CACHE=0 (cli/code-cache.ts, docs/ARCHITECTURE.md "How the
// CLI starts").
'use strict';
require('../dist/cli/gitbus-boot.cjs');
