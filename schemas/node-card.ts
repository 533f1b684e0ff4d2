import { z } from 'zod';
import { labelSchema, nodeNameSchema, protocolSchema, runnerSchema, text } from './fields.js';
import { timestampSchema } from './timestamp.js';

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

/** Field order here is the order gitbus writes them. */
export const nodeCardSchema = z
  .strictObject({
    protocol: protocolSchema.optional(),
    node: nodeNameSchema,
    labels: z.array(labelSchema).optional().describe('a list of labels'),
    runners: z.array(runnerSchema).optional().describe('a list of runner names'),
    parallel: z.int().min(1).max(10_000).optional().describe('a whole number from 1 to 10000'),
    version: oneLine('a gitbus version', 100).optional(),
    host: hostSchema.optional(),
    joined: timestampSchema.optional(),
    updated: timestampSchema.optional(),
  })
  .describe('a node card: nodes/<node>.md, what a node offers');

export type NodeCard = z.infer<typeof nodeCardSchema>;
export type HostInfo = z.infer<typeof hostSchema>;
