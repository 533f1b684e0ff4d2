/**
 * UTF-8 coders made on first use. The first TextEncoder or TextDecoder a process makes costs ~3 ms (measured alone
 * against `node -e 0`), which a module that made one as it loaded added to every short command that loads it, used
 * or not (issue 14, docs/PERFORMANCE.md "A dispatch without zod or yaml"; test/unit/start-up-imports.test.ts keeps
 * new ones out of modules' top levels).
 */
let encoder: InstanceType<typeof TextEncoder> | undefined;
let loose: InstanceType<typeof TextDecoder> | undefined;
let strict: InstanceType<typeof TextDecoder> | undefined;

export function encodeUtf8(text: string): Uint8Array {
  encoder ??= new TextEncoder();
  return encoder.encode(text);
}

/** As `new TextDecoder('utf-8')`: malformed bytes become U+FFFD, a leading byte order mark is dropped. */
export function decodeUtf8(bytes: Uint8Array): string {
  loose ??= new TextDecoder('utf-8', { fatal: false });
  return loose.decode(bytes);
}

/** As `new TextDecoder('utf-8', { fatal: true })`: malformed bytes throw a TypeError. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  strict ??= new TextDecoder('utf-8', { fatal: true });
  return strict.decode(bytes);
}
