import { z } from 'zod';
import { labelSchema, nodeNameSchema, protocolSchema, runnerSchema, text } from './fields.js';
import { timestampSchema } from './timestamp.js';
import { positiveDurationSchema } from './duration.js';
import { cardEnvSchema } from './env-drift.js';
import { sshKeyLineSchema } from './ssh-key-line.js';

const oneLine = (what: string, maxChars: number): z.ZodString => text({ what, maxChars, oneLine: true });

export const hostSchema = z
  .strictObject({
    os: oneLine('an operating system name, such as linux', 100).optional(),
    arch: oneLine('a CPU architecture, such as x64', 100).optional(),
    cpus: z.int().min(1).optional().describe('a whole number ≥ 1'),
    memoryMb: z.int().min(0).optional().describe('a whole number of megabytes ≥ 0'),
    hostname: oneLine('a host name', 253).optional(),
  })
  .describe('the machine: {os, arch, cpus, memoryMb, hostname}');

/**
 * What the node's policy (node.yaml `policy:`) accepts at most, so that `dispatch --to` can refuse a task the node
 * would refuse. Its runners are the card's `runners`; its command patterns stay on the node (a pattern read from
 * the bus would be run by every dispatcher, and a forged one could hang them), so `commands` only says there are
 * some. Field order here is the order gitbus writes them.
 */
export const cardPolicySchema = z
  .strictObject({
    signers: z.array(oneLine('a principal or a key fingerprint', 500)).max(100).optional().describe('principals or key fingerprints whose signature a task needs'),
    repos: z.array(oneLine('a repository pattern', 1000)).max(300).optional().describe('globs over project repositories (URLs or names) the node works on'),
    workRoots: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/)).max(100).optional().describe('named work roots a workdir may use (the default one always)'),
    commands: z.boolean().optional().describe('whether the node limits the commands it runs (the patterns are not published)'),
    maxTimeout: positiveDurationSchema.optional(),
    maxBudgetUsd: z.number().min(0).optional().describe('the largest budget of a claude task, in US dollars'),
  })
  .describe("the node's policy: {signers, repos, workRoots, commands, maxTimeout, maxBudgetUsd}");

/** Field order here is the order gitbus writes them. */
export const nodeCardSchema = z
  .strictObject({
    protocol: protocolSchema.optional(),
    node: nodeNameSchema,
    labels: z.array(labelSchema).optional().describe('a list of labels'),
    runners: z.array(runnerSchema).optional().describe('a list of runner names'),
    parallel: z.int().min(1).max(10_000).optional().describe('a whole number from 1 to 10000'),
    policy: cardPolicySchema.optional(),
    env: z.array(cardEnvSchema).max(50).optional().describe('drift of the environment profiles the node subscribes to (env/)'),
    version: oneLine('a gitbus version', 100).optional(),
    host: hostSchema.optional(),
    /** The node's own public key (docs/PROTOCOL.md §12, "Node keys"): offered, not trusted, until trust/ lists it. */
    key: sshKeyLineSchema.optional(),
    joined: timestampSchema.optional(),
    updated: timestampSchema.optional(),
  })
  .describe('a node card: nodes/<node>.md, what a node offers');

export type NodeCard = z.infer<typeof nodeCardSchema>;
export type CardPolicy = z.infer<typeof cardPolicySchema>;
export type HostInfo = z.infer<typeof hostSchema>;
