import { z } from './zod.js';
import { text } from './fields.js';
import { withRule } from './rule.js';
import { BASE_RULE, BASE_TEXT, baseViolation, BRANCH_RULE, BRANCH_TEXT, branchViolation, COMMIT_RE, GROUP_NAME_RE, GROUP_NAME_RULE, MAX_SUBJECTS, REPO_RULE, REPO_TEXT, repoViolation } from './project.js';

export const repoSchema = withRule(text(REPO_TEXT), repoViolation).register(z.globalRegistry, { description: REPO_RULE });

export const branchSchema = withRule(text(BRANCH_TEXT), branchViolation).register(z.globalRegistry, { description: BRANCH_RULE });

export const baseSchema = withRule(text(BASE_TEXT), baseViolation).register(z.globalRegistry, { description: BASE_RULE });

export const commitSchema = z.string().check(z.regex(COMMIT_RE)).register(z.globalRegistry, { description: 'a full commit id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits' });

export const groupNameSchema = z.string().check(z.regex(GROUP_NAME_RE)).register(z.globalRegistry, { description: GROUP_NAME_RULE });

/** What a project task left on its branch, as the response records it (docs/PROTOCOL.md §3a). */
export const projectReportSchema = z.strictObject({
  repo: repoSchema,
  branch: branchSchema,
  baseCommit: commitSchema,
  headCommit: commitSchema,
  pushed: z.boolean().register(z.globalRegistry, { description: 'whether the branch is on the project remote (true or false)' }),
  pushError: z.optional(text({ what: 'why the branch is not on the remote yet', maxChars: 1000, oneLine: true })),
  commits: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'how many commits the branch has over the base, a whole number ≥ 0' }),
  subjects: z.optional(z.array(text({ what: 'a commit subject', maxChars: 200, oneLine: true })).check(z.maxLength(MAX_SUBJECTS))).register(z.globalRegistry, { description: `the newest commits' subjects, at most ${MAX_SUBJECTS}` }),
  files: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'files changed from the base, a whole number ≥ 0' }),
  insertions: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'lines added, a whole number ≥ 0' }),
  deletions: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'lines removed, a whole number ≥ 0' }),
  merged: z.optional(z.array(branchSchema)).register(z.globalRegistry, { description: 'branches merged into the branch (the merge runner)' }),
  conflicts: z.optional(z.array(z.strictObject({ branch: branchSchema, files: z.array(text({ what: 'a file path', maxChars: 1000, oneLine: true })).check(z.maxLength(1000)) }))).register(z.globalRegistry, { description: 'merges that conflict, by branch and file (the merge runner); the branch was left untouched' }),
}).register(z.globalRegistry, { description: 'project work: {repo, branch, baseCommit, headCommit, pushed, commits, subjects, files, insertions, deletions}' });

export type ProjectReport = z.infer<typeof projectReportSchema>;
