#!/usr/bin/env node
import '../dist/cli/gitbus.mjs';
