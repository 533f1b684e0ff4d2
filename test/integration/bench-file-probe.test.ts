import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileWriteMicros } from '../../bench/file-write-probe.js';

// The throughput rows print the machine's minute beside them (bench/file-write-probe.ts): a figure that must be a
// time a file took, and a probe that leaves nothing behind in the temp folder, run before and after every row.
describe("the throughput bench's file write probe", () => {
  const probes = () => readdirSync(tmpdir()).filter((n) => n.startsWith('gitbus-bench-probe-')).length;

  it('gives the microseconds a small file took to write and rename, and removes what it wrote', () => {
    const before = probes();
    const us = fileWriteMicros(200);
    expect(Number.isFinite(us)).toBe(true);
    // A file written and renamed takes more than a microsecond and less than a second on any disk a bench runs on.
    expect(us).toBeGreaterThan(1);
    expect(us).toBeLessThan(1_000_000);
    expect(probes()).toBe(before);
  });
});
