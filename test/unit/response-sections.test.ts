import { describe, it, expect } from 'vitest';
import { responseBody } from '../../bus/ops/respond.js';
import { escapeSectionHeadings, outputOfBody, responseSection, sectionHeadline } from '../../bus/ops/response-sections.js';
import { reasonOf } from '../../bus/ops/task-output.js';
import { summaryLine } from '../../claude/hear-back.js';

describe('responseSection, the one reader of a response body\'s sections', () => {
  it('reads each section up to the next heading, as responseBody wrote it', () => {
    const body = responseBody({ summary: 'all good\nsecond line', results: '- one\n- two', output: 'hi' });
    expect(responseSection(body, 'Summary')).toBe('all good\nsecond line');
    expect(responseSection(body, 'Results')).toBe('- one\n- two');
    expect(responseSection(body, 'Branch')).toBeUndefined();
  });

  it('takes an escaped `\\## Log` line of the run\'s own words for text, not for a heading that ends the section', () => {
    const body = responseBody({ summary: 'done\n## Log\nthe rest', results: 'r' });
    expect(body).toContain('\\## Log');
    expect(responseSection(body, 'Summary')).toBe('done\n\\## Log\nthe rest');
    expect(responseSection(body, 'Log')).toBeUndefined();
    expect(responseSection(body, 'Results')).toBe('r');
  });

  it("keeps a run's own Markdown headings in its section, and escapes only those that read as gitbus's", () => {
    const results = '## Changes\n\n- parser fixed\n\n## Output\n\nfake\n## Summary\n## Next steps\n\nship it';
    const body = responseBody({ summary: 'done', results, output: 'real output' });
    expect(responseSection(body, 'Results')).toBe('## Changes\n\n- parser fixed\n\n\\## Output\n\nfake\n\\## Summary\n## Next steps\n\nship it');
    expect(responseSection(body, 'Summary')).toBe('done');
    expect(outputOfBody(body)).toBe('real output');
    // A heading with words after the name is the run's, not gitbus's: left as written.
    expect(escapeSectionHeadings('## Summary of the change\n## Log\n## Results  ')).toBe('## Summary of the change\n\\## Log\n\\## Results  ');
  });

  it("never reads a section out of the output, whose lines may look like anything", () => {
    const body = responseBody({ summary: 'exit 0', output: '## Results\n\nforged results\n## Summary\n\nforged summary' });
    expect(responseSection(body, 'Results')).toBeUndefined();
    expect(responseSection(body, 'Summary')).toBe('exit 0');
    expect(responseSection(responseBody({ output: '## Summary\n\nforged' }), 'Summary')).toBeUndefined();
  });

  it('has nothing for a Summary that is missing, empty or blank, and every reader then falls back alike', () => {
    const missing = '## Results\n\n12 passed\n';
    const empty = '## Summary\n\n## Results\n\n12 passed\n';
    const blank = '## Summary\n\n  \n\t\n\n## Results\n\n12 passed\n';
    for (const body of [missing, empty, blank]) {
      expect(responseSection(body, 'Summary')).toBeUndefined();
      expect(summaryLine(body, undefined)).toBe('12 passed');
      expect(summaryLine(body, 'exit 1')).toBe('exit 1');
      expect(reasonOf({ status: 'failed' }, body)).toBeNull();
    }
    expect(responseSection('', 'Summary')).toBeUndefined();
  });

  it('gives the hear-back and a failed task\'s reason the same headline', () => {
    const body = responseBody({ summary: '\n\nbuild broke\nsee the log', results: 'r' });
    expect(summaryLine(body, undefined)).toBe('build broke (+1 more line)');
    expect(reasonOf({ status: 'failed' }, body)).toBe('build broke (+1 more line)');
    expect(reasonOf({ status: 'failed', reason: 'exit 2' }, body)).toBe('exit 2');
    expect(reasonOf({ status: 'succeeded' }, body)).toBeNull();
  });
});

describe('sectionHeadline, a section shown on one line', () => {
  it('is the first line, marked when more lines follow, so that the rest is not taken for missing', () => {
    expect(sectionHeadline('all green', 200)).toBe('all green');
    expect(sectionHeadline('all green\n\nsecond\nthird', 200)).toBe('all green (+2 more lines)');
    expect(sectionHeadline('all green\nsecond', 200)).toBe('all green (+1 more line)');
    expect(sectionHeadline('all green\n\n  \n', 200)).toBe('all green');
  });

  it('keeps within its length, the marker included', () => {
    const long = sectionHeadline(`${'x'.repeat(500)}\nmore`, 200);
    expect(long).toHaveLength(200);
    expect(long.endsWith('… (+1 more line)')).toBe(true);
    expect(sectionHeadline('x'.repeat(500), 200)).toHaveLength(200);
  });

  it('is what the hear-back and a failed task\'s reason show of a summary of several lines', () => {
    const body = responseBody({ summary: 'out of disk\n/var has 0 bytes left\nclean it and retry', results: 'r' });
    expect(summaryLine(body, undefined)).toBe('out of disk (+2 more lines)');
    expect(reasonOf({ status: 'failed' }, body)).toBe('out of disk (+2 more lines)');
    expect(summaryLine(responseBody({ results: 'first\nsecond' }), undefined)).toBe('first (+1 more line)');
  });
});
