import { afterLineStartSpace, hasAsciiCaseless, isWordChar, skipJsSpace, spaceToLineEnd } from '../../schemas/text-scan.js';

/**
 * What gitbus looks for in a local remote's `config`, without the regular expressions it was first written with
 * (each in the function's comment): a command compiles every expression it runs, where these come from the code
 * cache (schemas/text-scan.ts). Pure.
 */

/** `/^\s*bare\s*=\s*false\s*$/im`: a line `bare = false`, any case. */
export function saysNotBare(config: string): boolean {
  for (let i = 0; i + 4 <= config.length; i++) {
    if (!hasAsciiCaseless(config, i, 'bare') || !afterLineStartSpace(config, i)) continue;
    const eq = skipJsSpace(config, i + 4);
    if (config.charCodeAt(eq) !== 0x3d) continue;
    const value = skipJsSpace(config, eq + 1);
    if (hasAsciiCaseless(config, value, 'false') && spaceToLineEnd(config, value + 5)) return true;
  }
  return false;
}

/** `/^\s*\[(receive|extensions)\b/m` on the config in lower case: a `[receive]` or `[extensions]` section. */
export function opensReceiveOrExtensions(lowered: string): boolean {
  for (let i = lowered.indexOf('['); i !== -1; i = lowered.indexOf('[', i + 1)) {
    if (!afterLineStartSpace(lowered, i)) continue;
    for (const name of ['receive', 'extensions']) {
      const end = i + 1 + name.length;
      if (lowered.startsWith(name, i + 1) && (end === lowered.length || !isWordChar(lowered.charCodeAt(end)))) return true;
    }
  }
  return false;
}

/** `/^\s*(sharedrepository|hookspath|fsckobjects)\s*=/m` on the config in lower case. */
export function setsSharedHooksOrFsck(lowered: string): boolean {
  for (const name of ['sharedrepository', 'hookspath', 'fsckobjects']) {
    for (let i = lowered.indexOf(name); i !== -1; i = lowered.indexOf(name, i + 1)) {
      if (afterLineStartSpace(lowered, i) && lowered.charCodeAt(skipJsSpace(lowered, i + name.length)) === 0x3d) return true;
    }
  }
  return false;
}
