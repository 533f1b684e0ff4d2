/**
 * `found` (commits new to a clone, in any order) ordered so that each comes after every parent of it that is among
 * them: written in this order, a commit is never in the clone without its history, so a fetch killed half way leaves
 * nothing a later one would take for complete (it stops its walk at a commit the clone has). Following first parents
 * back and reversing is not enough once there are merges: a second parent's line may share commits with the first's.
 * Parents not in `found` are the clone's already, or were left out on purpose (a bounded fetch). Iterative, for a
 * history of any length. Pure.
 */
export function parentsFirst<T extends { oid: string; parents: readonly string[] }>(found: readonly T[]): T[] {
  const byOid = new Map(found.map((c) => [c.oid, c]));
  const placed = new Set<string>();
  const out: T[] = [];
  for (const start of found) {
    if (placed.has(start.oid)) continue;
    placed.add(start.oid);
    const stack: { commit: T; next: number }[] = [{ commit: start, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { commit: T; next: number };
      const parent = top.commit.parents[top.next++];
      if (parent === undefined) {
        stack.pop();
        out.push(top.commit);
        continue;
      }
      const p = byOid.get(parent);
      // Known here already, or on its way: ids are hashes of the content, so a parent cannot lead back to its child.
      if (p === undefined || placed.has(parent)) continue;
      placed.add(parent);
      stack.push({ commit: p, next: 0 });
    }
  }
  return out;
}
