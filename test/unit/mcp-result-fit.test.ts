import { describe, expect, it } from 'vitest';
import { fitResult } from '../../mcp/result-fit.js';

describe('a tool result cut to fit one MCP message', () => {
  it('is left as it is when it fits', () => {
    const out = { id: 'a', files: [{ path: 'p', text: 'short' }] };
    expect(fitResult(out, 1_000)).toBe(out);
  });

  it('has its long strings shortened first, each said in `cut` with its path, and stays under the limit', () => {
    const out = { id: 'a', files: Array.from({ length: 4 }, (_, i) => ({ path: `claims/a.${i}.md`, text: 'x'.repeat(100_000) })) };
    const fit = fitResult(out, 100_000) as { id: string; files: { path: string; text: string }[]; cut: { paths: string[]; more: number } };
    expect(JSON.stringify(fit).length).toBeLessThanOrEqual(100_000);
    expect(fit.id).toBe('a');
    expect(fit.files.map((f) => f.path)).toEqual(out.files.map((f) => f.path));
    expect(fit.files[0]?.text).toMatch(/^x{16384}… \(83616 more characters cut\)$/);
    expect(fit.cut.paths).toEqual([0, 1, 2, 3].map((i) => `files.${i}.text: 16384 of 100000 characters`));
  });

  it('shortens long lists, naming twenty of the cut values and counting the rest', () => {
    const out = { tasks: Array.from({ length: 3_000 }, (_, i) => ({ id: `t${i}`, waitingFor: Array.from({ length: 300 }, (_, j) => `dep-${j}`) })) };
    const fit = fitResult(out, 50_000) as { tasks: unknown[]; cut: { paths: string[]; more: number } };
    expect(JSON.stringify(fit).length).toBeLessThanOrEqual(50_000);
    expect(fit.tasks.length).toBeLessThan(3_000);
    expect(fit.cut.paths[0]).toMatch(/^tasks: \d+ of 3000 items$/);
    expect(fit.cut.paths).toHaveLength(20);
    expect(fit.cut.more).toBeGreaterThan(0);
  });

  it('keeps the end of an output (wait’s output, logs’ text): the newest lines, where a failure’s error is', () => {
    const log = `${'early line\n'.repeat(20_000)}the error at the end\n`;
    const fit = fitResult({ id: 'a', output: log, response: { body: 'b'.repeat(300_000) } }, 100_000) as { output: string; response: { body: string }; cut: { paths: string[] } };
    expect(fit.output.endsWith('the error at the end\n')).toBe(true);
    expect(fit.output).toMatch(/^\(\d+ earlier characters cut\) …/);
    expect(fit.response.body.startsWith('bbb')).toBe(true);
    expect(fit.cut.paths).toContain(`output: the last 16384 of ${log.length} characters`);
  });
});
