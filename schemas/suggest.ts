/** Optimal string alignment distance: Levenshtein plus swapping two neighbours, the commonest typo (`lables`). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known name `name` was most likely meant to be, or undefined when none is close: within a third of its length
 * (at least 1, at most 3 edits), ignoring case, or a known name it is the start of (`prio` → `priority`), or the one
 * known name that has it as a word.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  if (name.length > 100) return undefined;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance || (distance === bestDistance && best === undefined)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  if (lower.length >= 3) {
    const start = known.find((candidate) => candidate.toLowerCase().startsWith(lower));
    if (start !== undefined) return start;
  }
  // One word of a camelCase name, or its plural, when only one known name has it (`budget` → `maxBudgetUsd`,
  // `permissions` → `permissionMode`).
  if (lower.length >= 4) {
    const words = (candidate: string) => candidate.split(/(?=[A-Z])|[-_.]/).map((w) => w.toLowerCase());
    const hits = known.filter((candidate) => words(candidate).some((w) => w === lower || `${w}s` === lower));
    if (hits.length === 1) return hits[0];
  }
  return undefined;
}
