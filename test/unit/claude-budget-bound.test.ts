import { describe, expect, it } from 'vitest';
import { MAX_BUDGET_USD } from '../../schemas/handoff.js';
import { MAX_COST_USD } from '../../schemas/response.js';
import { expectProblem, HPATH, parseHandoff } from './schemas-bus-file-helpers.js';

/**
 * A handoff's claude.maxBudgetUsd is bounded as a response's costUsd is (MAX_COST_USD, more than any run costs):
 * without a bound, 1e308 was a valid request that every node's caps and trust rules compared as a real budget.
 */
describe('claude.maxBudgetUsd has an upper bound', () => {
  it('is the bound readers put on a reported cost', () => {
    expect(MAX_BUDGET_USD).toBe(MAX_COST_USD);
  });

  it('a budget up to the bound is valid', () => {
    for (const usd of ['0', '0.5', '25', String(MAX_BUDGET_USD)]) {
      const r = parseHandoff(`runner: claude\nclaude: {maxBudgetUsd: ${usd}}`);
      expect(r.ok ? [] : r.problems, usd).toEqual([]);
    }
  });

  it('a budget above it is a problem naming the file, the field and the fix', () => {
    for (const usd of ['1000000.01', '5000000', '1e308']) {
      expectProblem(parseHandoff(`runner: claude\nclaude: {maxBudgetUsd: ${usd}}`), HPATH, 'claude.maxBudgetUsd', new RegExp(`^expected a budget in US dollars, a number from 0 to ${MAX_BUDGET_USD}, got the number `), new RegExp(`^use a budget in US dollars, a number from 0 to ${MAX_BUDGET_USD}$`));
    }
  });
});
