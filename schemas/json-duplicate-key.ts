/**
 * The first key that appears twice in one object of a JSON text, with the dotted path of that object (`claude`,
 * `labels.0`), or null. JSON.parse keeps the last value of a repeated key without a word; gitbus's YAML refuses a
 * duplicate key (safe-yaml.ts), and a JSON line of a batch is held to the same rule. Only for text JSON.parse
 * accepted: it reads strings and brackets, and skips every other token. Pure.
 */
export function duplicateJsonKey(json: string): { path: string[]; key: string } | null {
  type Open = { keys: Set<string> | null; path: string[]; next: string };
  const stack: Open[] = [];
  // An object expects a key after `{` and `,`; a list counts its items at each `,`.
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    const top = stack[stack.length - 1];
    if (c === '{' || c === '[') {
      const path = top ? [...top.path, top.next] : [];
      stack.push({ keys: c === '{' ? new Set() : null, path, next: '0' });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      if (top?.keys) expectKey = true;
      else if (top) top.next = String(Number(top.next) + 1);
    } else if (c === '"') {
      let end = i + 1;
      while (end < json.length && json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (expectKey && top?.keys) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return { path: top.path, key };
        top.keys.add(key);
        top.next = key;
        expectKey = false;
      }
      i = end;
    }
  }
  return null;
}
