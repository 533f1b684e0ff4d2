import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { decodeCacheFile, encodeCacheFile, type CachedEntry } from '../../bus/store/parse-cache-file.js';
import { parseCacheDir } from '../../bus/store/parse-cache.js';
import type { Parsed } from '../../bus/model/task-view.js';
import { ROOT } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function gitdir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gitbus-parse-cache-'));
  dirs.push(d);
  return d;
}

const oid = (n: number) => n.toString(16).padStart(40, '0');
const TREE_A = 'a'.repeat(40);
const TREE_B = 'b'.repeat(40);
const TREE_C = 'c'.repeat(40);

/** The parse result the snapshot would keep for a file, from real parsing. */
function parsedOf(path: string, text: string): Parsed<unknown> {
  const r = parseBusFile(path, text);
  return r.ok ? { ok: true, data: r.file.data, body: r.file.body, warnings: r.warnings } : { ok: false, problems: r.problems };
}

function handoffs(n: number, body = '## Task\n\nwork\n'): CachedEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `t-${i}`;
    const name = `${id}.md`;
    return { name, oid: oid(i + 1), parsed: parsedOf(`handoffs/${name}`, renderBusFile('handoff', { id, title: `task ${i}`, from: 'x', created: '2026-11-01T00:00:00.000Z' }, body)) };
  });
}

describe('parse cache file', () => {
  it('hit: what was saved for a tree is loaded for that tree, equal to parsing again', () => {
    const cache = parseCacheDir(gitdir(), 'build-1');
    const entries = [...handoffs(3), { name: 'bad.md', oid: oid(99), parsed: parsedOf('handoffs/bad.md', '---\ntitle: [unclosed\n---\n') }];
    expect(entries[3]?.parsed.ok).toBe(false);
    expect(cache.save('handoffs', TREE_A, entries)).toBe(true);
    const got = cache.load('handoffs', TREE_A);
    expect(got?.exact).toBe(true);
    expect(got?.entries).toEqual(entries);
  });

  it('miss: no file is null; another tree of the folder is offered as not exact; another folder never', () => {
    const cache = parseCacheDir(gitdir(), 'build-1');
    expect(cache.load('handoffs', TREE_A)).toBeNull();
    cache.save('handoffs', TREE_A, handoffs(2));
    const other = cache.load('handoffs', TREE_B);
    expect(other?.exact).toBe(false);
    expect(other?.entries.map((e) => e.name)).toEqual(['t-0.md', 't-1.md']);
    expect(cache.load('claims', TREE_A)).toBeNull();
  });

  it('a file read once is not read again by the same reader (seen)', () => {
    const cache = parseCacheDir(gitdir(), 'build-1');
    cache.save('handoffs', TREE_A, handoffs(2));
    const seen = new Set<string>();
    expect(cache.load('handoffs', TREE_A, seen)).not.toBeNull();
    expect(cache.load('handoffs', TREE_A, seen)).toBeNull();
    expect(cache.load('handoffs', TREE_B, seen)).toBeNull();
  });

  it('a corrupt, cut or foreign file is ignored, and rebuilt by the next save', () => {
    const g = gitdir();
    const cache = parseCacheDir(g, 'build-1');
    cache.save('handoffs', TREE_A, handoffs(3));
    const file = join(cache.dir, `handoffs-${TREE_A}.cache`);
    const good = readFileSync(file);
    const damaged = [
      Buffer.from('not a cache file at all'),
      good.subarray(0, good.length - 7),
      Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 0xff])]),
      Buffer.alloc(0),
    ];
    for (const bytes of damaged) {
      writeFileSync(file, bytes);
      expect(cache.load('handoffs', TREE_A)).toBeNull();
    }
    // A well-formed file whose rows are not parse results (another program's JSON under our header).
    const foreign = encodeCacheFile({ build: 'build-1', folder: 'handoffs', tree: TREE_A }, [{ name: 'x.md', oid: 'not-an-oid', parsed: { ok: true } } as unknown as CachedEntry]);
    writeFileSync(file, foreign);
    expect(cache.load('handoffs', TREE_A)).toBeNull();
    expect(cache.save('handoffs', TREE_A, handoffs(3))).toBe(true);
    expect(cache.load('handoffs', TREE_A)?.entries).toHaveLength(3);
  });

  it('keeps the facts of its handoffs, read without the parse results, and refuses them when damaged', () => {
    const g = gitdir();
    const cache = parseCacheDir(g, 'build-1');
    const entries = handoffs(3);
    const problem = { path: 'handoffs/Bad Name.md', field: 'protocol', reason: 'protocol 9 is newer than this gitbus knows', fix: 'upgrade gitbus', severity: 'error' as const };
    const bad: CachedEntry = { name: 'Bad Name.md', oid: oid(99), parsed: { ok: false, problems: [problem], unsupportedProtocol: 9 } };
    const withLabels: CachedEntry = { name: 't-9.md', oid: oid(9), parsed: parsedOf('handoffs/t-9.md', renderBusFile('handoff', { id: 't-9', title: 'gpu', from: 'x', to: 'w', labels: ['gpu'], command: 'make', after: ['t-0'] }, '')) };
    cache.save('handoffs', TREE_A, [...entries, bad, withLabels]);
    const facts = cache.loadFacts('handoffs', TREE_A);
    expect(facts?.size).toBe(5);
    expect(facts?.get(oid(9))).toEqual({ name: 't-9.md', oid: oid(9), facts: { title: 'gpu', from: 'x', to: 'w', labels: ['gpu'], command: 'make', after: ['t-0'] }, problems: [] });
    expect(facts?.get(oid(1))?.facts).toEqual({ title: 'task 0', from: 'x', created: '2026-11-01T00:00:00.000Z' });
    // A handoff that did not parse keeps what status and lint say of it: its problems, a newer protocol.
    expect(facts?.get(oid(99))).toEqual({ name: 'Bad Name.md', oid: oid(99), facts: null, problems: [problem], unsupportedProtocol: 9 });
    // Another tree's file is read for its facts when this tree has none (entries are valid by name and oid).
    expect(cache.loadFacts('handoffs', TREE_B)?.size).toBe(5);
    // Only handoffs have facts.
    cache.save('claims', TREE_C, handoffs(2));
    expect(cache.loadFacts('claims', TREE_C)?.size).toBe(0);
    const file = join(cache.dir, `handoffs-${TREE_A}.cache`);
    const good = readFileSync(file);
    writeFileSync(file, Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 0xff])]));
    expect(cache.loadFacts('handoffs', TREE_A)).toBeNull();
    expect(cache.load('handoffs', TREE_A)).toBeNull();
  });

  it('another build or format invalidates it', () => {
    const g = gitdir();
    parseCacheDir(g, 'gitbus 0.1.0/1/chunk-A').save('handoffs', TREE_A, handoffs(2));
    expect(parseCacheDir(g, 'gitbus 0.1.0/1/chunk-B').load('handoffs', TREE_A)).toBeNull();
    expect(parseCacheDir(g, 'gitbus 0.1.0/1/chunk-A').load('handoffs', TREE_A)).not.toBeNull();
    const bytes = encodeCacheFile({ build: 'b', folder: 'handoffs', tree: TREE_A }, handoffs(1));
    const nl = bytes.indexOf(0x0a, 'gitbus-parse-cache\n'.length);
    const header = JSON.parse(bytes.toString('utf8', 'gitbus-parse-cache\n'.length, nl)) as Record<string, unknown>;
    const older = Buffer.concat([Buffer.from(`gitbus-parse-cache\n${JSON.stringify({ ...header, format: 0 })}\n`), bytes.subarray(nl + 1)]);
    expect(decodeCacheFile(older, { build: 'b', folder: 'handoffs' })).toBeNull();
    expect(decodeCacheFile(bytes, { build: 'b', folder: 'handoffs' })).toHaveLength(1);
  });

  it('is bounded: files kept per folder, file size, body size', () => {
    const g = gitdir();
    const cache = parseCacheDir(g, 'build-1', { keep: 2, maxFileBytes: 20_000, maxBodyChars: 1000 });
    cache.save('handoffs', TREE_A, handoffs(2));
    cache.save('handoffs', TREE_B, handoffs(3));
    cache.save('handoffs', TREE_C, handoffs(4));
    cache.save('claims', TREE_A, []);
    const names = readdirSync(cache.dir).sort();
    expect(names.filter((n) => n.startsWith('handoffs-'))).toHaveLength(2);
    expect(names).toContain(`handoffs-${TREE_C}.cache`);
    expect(names).toContain(`claims-${TREE_A}.cache`);
    // An entry with a big body is left out (it is parsed again when needed); the rest is kept.
    const big = handoffs(1, `${'x'.repeat(2000)}\n`)[0] as CachedEntry;
    cache.save('handoffs', TREE_A, [big, ...handoffs(2)]);
    expect(cache.load('handoffs', TREE_A)?.entries.map((e) => e.oid)).toEqual([oid(1), oid(2)]);
    // A file over the size cap is not written at all.
    expect(cache.save('handoffs', TREE_B, handoffs(200))).toBe(false);
    expect(existsSync(join(cache.dir, `handoffs-${TREE_B}.cache`))).toBe(false);
  });

  it('two writers at once never leave a torn file: every read is a whole file of one of them', async () => {
    const g = gitdir();
    const mod = join(ROOT, 'dist/bus/store/parse-cache.js');
    // Each writer saves the same two trees over and over, with entries of its own; a reader decodes throughout.
    const writer = (tag: string) =>
      spawn(process.execPath, ['--input-type=module', '-e', `
        const { parseCacheDir } = await import(${JSON.stringify(mod)});
        const c = parseCacheDir(${JSON.stringify(g)}, 'build-1');
        const body = ${JSON.stringify(tag)}.repeat(20000);
        const e = (n) => Array.from({ length: n }, (_, i) => ({ name: 't-' + i + '.md', oid: (i + 1).toString(16).padStart(40, '0'), parsed: { ok: true, data: { id: 't-' + i }, body, warnings: [] } }));
        for (let i = 0; i < 150; i++) c.save('handoffs', i % 2 ? ${JSON.stringify(TREE_A)} : ${JSON.stringify(TREE_B)}, e(20));
      `], { stdio: 'inherit' });
    const done = [writer('a'), writer('b')].map((p) => new Promise<number | null>((resolve) => p.on('exit', resolve)));
    let finished = false;
    void Promise.all(done).then(() => (finished = true));
    const cache = parseCacheDir(g, 'build-1');
    let reads = 0;
    // Read as fast as possible while they write (bounded: the writers end, or the deadline passes).
    const deadline = Date.now() + 30_000;
    while (!finished && Date.now() < deadline) {
      for (const tree of [TREE_A, TREE_B]) {
        const file = join(cache.dir, `handoffs-${tree}.cache`);
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          continue;
        }
        const got = decodeCacheFile(bytes, { build: 'build-1', folder: 'handoffs', tree });
        expect(got, 'a file that exists always decodes').not.toBeNull();
        const bodies = new Set(got?.map((e) => (e.parsed.ok ? e.parsed.body : '')));
        expect(bodies.size, 'entries of one writer only').toBe(1);
        reads++;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(done)).toEqual([0, 0]);
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(cache.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
