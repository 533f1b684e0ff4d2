/**
 * Reads a systemd unit file the way systemd does, for the tests: enough of systemd.syntax(7) and
 * systemd.service(5) "Command lines" to check what gitbus renders.
 */

/** A command line or setting value as systemd reads it: specifiers first (`%%`), then words, quotes and C escapes, then `$$`. */
export function systemdWords(raw: string, dollars: boolean): string[] {
  const line = raw.replaceAll('%%', '%');
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    const quote = line[i] === '"' || line[i] === "'" ? line[i++] : null;
    while (i < line.length && (quote ? line[i] !== quote : line[i] !== ' ')) {
      if (line[i] === '\\') i++;
      word += line[i++];
    }
    if (quote) {
      if (line[i] !== quote) throw new Error(`unbalanced quoting in ${raw}`);
      i++;
    }
    words.push(dollars ? word.replaceAll('$$', '$') : word);
  }
  return words;
}

export function setting(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}
