// The zod every schema is built with: zod/mini (issue 14). Its schemas are the same as classic zod's underneath
// (zod/v4/core), without the method chains, which cost every command ~830 schema objects and the loading of the
// larger package at start (docs/PERFORMANCE.md "zod/mini"). zod/mini sets no locale: English, and English only, is
// configured here, once, by the module every schema module imports first; the wording of zod's own messages
// (which some problems quote) is then the same as classic zod's. scripts/bundle.mjs keeps the other locales out.
import { z } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export { z };
