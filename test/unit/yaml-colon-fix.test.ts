import { describe, expect, it } from 'vitest';
import { parseYaml, quotedValueLine } from '../../schemas/safe-yaml.js';

/** The fix a hand-written handoff gets for `title: Fix: the flaky test`, the YAML mistake people make most. */
describe('a value holding ": " written without quotes', () => {
  it('is named as such, with the line written with its value quoted', () => {
    const r = parseYaml('handoffs/x.md', 'title: Fix: the flaky test\nto: box1\n', 2);
    expect(r.ok).toBe(false);
    const p = r.ok ? undefined : r.problems[0];
    expect(p?.reason).toContain('YAML syntax error at line 2');
    expect(p?.fix).toBe('a value holding ": " must be quoted, or YAML reads it as another key: write title: "Fix: the flaky test"');
  });

  it('leaves other syntax errors their general fix, and quotes only plain values', () => {
    const r = parseYaml('handoffs/x.md', 'title: a\n  to: b\n');
    expect(r.ok ? '' : r.problems[0]?.fix).toContain('an unclosed quote or bracket, or wrong indentation');
    expect(quotedValueLine('  why: it says "a: b" here')).toBe('why: "it says \\"a: b\\" here"');
    expect(quotedValueLine('title: "Fix: quoted"')).toBeNull();
    expect(quotedValueLine('title: no colon here')).toBeNull();
    expect(quotedValueLine('url: http://x')).toBeNull();
  });
});
