import type { ServiceManagerKind } from './commands.js';

/**
 * Pure: the environment an installed service file gives the watcher, read back the way the service manager reads
 * it. Enough of systemd.syntax(7) (quotes, C escapes, `%%`) and of XML property lists for the files gitbus writes
 * and a person's edits to them.
 */

/** The words of a systemd setting value: `%%` is `%`, words are split on spaces, quoted with " or ', `\` escapes. */
export function systemdWords(raw: string): string[] | null {
  const line = raw.replaceAll('%%', '%');
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let word = '';
    const quote = line[i] === '"' || line[i] === "'" ? line[i++] : null;
    while (i < line.length && (quote ? line[i] !== quote : line[i] !== ' ' && line[i] !== '\t')) {
      if (line[i] === '\\') i++;
      word += line[i++] ?? '';
    }
    if (quote) {
      if (line[i] !== quote) return null;
      i++;
    }
    words.push(word);
  }
  return words;
}

/** The `Environment=` assignments of a unit's [Service] section, later ones winning as in systemd; null when a line cannot be read. */
export function systemdEnvironment(unit: string): Record<string, string> | null {
  const env: Record<string, string> = {};
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    if (section !== '[Service]' || !line.startsWith('Environment=')) continue;
    const value = line.slice('Environment='.length);
    if (value === '') {
      for (const k of Object.keys(env)) delete env[k];
      continue;
    }
    const words = systemdWords(value);
    if (words === null) return null;
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
    }
  }
  return env;
}

function xmlUnescape(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

/** The EnvironmentVariables dictionary of a LaunchAgent plist ({} when it has none); null when it cannot be read. */
export function launchdEnvironment(xml: string): Record<string, string> | null {
  const m = /<key>\s*EnvironmentVariables\s*<\/key>\s*(<dict\s*\/>|<dict>([\s\S]*?)<\/dict>)/.exec(xml);
  if (!m) return /EnvironmentVariables/.test(xml) ? null : {};
  const env: Record<string, string> = {};
  const body = m[2] ?? '';
  const pairs = /<key>([^<]*)<\/key>\s*(?:<string>([^<]*)<\/string>|<string\s*\/>)/g;
  let count = 0;
  for (const p of body.matchAll(pairs)) {
    env[xmlUnescape(p[1] ?? '')] = xmlUnescape(p[2] ?? '');
    count++;
  }
  if (count !== (body.match(/<key>/g) ?? []).length) return null;
  return env;
}

export function serviceEnvironment(manager: ServiceManagerKind, text: string): Record<string, string> | null {
  return manager === 'systemd' ? systemdEnvironment(text) : launchdEnvironment(text);
}
