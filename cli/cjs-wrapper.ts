// The CommonJS module wrapper, as Node's loader makes it, which scripts/bundle.mjs writes around the loader and the
// CommonJS bundles: the boot (cli/boot.ts) and the loader (cli/code-cache.ts) then hand V8 a file's text as it is,
// with its code cache. Wrapping it at run time made a second string that V8 flattened: a copy, and ~800 page faults
// per start for a 2 MB bundle.

/** What a wrapped file starts with. */
export const CJS_WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

/** The file's text ready for vm.Script: as it is when the build wrapped it, else wrapped here (a file made by hand, or by an older build), on its first line so that lines stay as built. */
export function wrappedSource(text: string): string {
  return text.startsWith(CJS_WRAPPER_START) ? text : `${CJS_WRAPPER_START}${text}\n})`;
}

/** What running a wrapped file's script gives: the wrapper, called as Node calls a module's. */
export type ModuleWrapper = (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
