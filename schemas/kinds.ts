import type { z } from 'zod/mini';
import { cancelSchema, type Cancel } from './cancel.js';
import { claimRules, claimSchema, type Claim } from './claim.js';
import { deliverySchema, type Delivery } from './delivery.js';
import { handoffSchema, type Handoff } from './handoff.js';
import { handoffRules } from './handoff-fields.js';
import type { FieldViolation } from './kind-rules.js';
import type { BusKind, BusPathOf } from './layout.js';
import { nodeCardRules, nodeCardSchema, type NodeCard } from './node-card.js';
import { releaseSchema, type Release } from './release.js';
import { responseRules, responseSchema, type TaskResponse } from './response.js';
import { settingsRules, type BusSettings } from './settings.js';
import { settingsSchema } from './settings-schema.js';

/** The data of each kind of bus file. */
export interface KindData {
  settings: BusSettings;
  handoff: Handoff;
  claim: Claim;
  release: Release;
  cancel: Cancel;
  response: TaskResponse;
  delivery: Delivery;
  node: NodeCard;
}

export interface KindSpec<K extends BusKind> {
  schema: z.ZodMiniType<KindData[K]>;
  /**
   * Rules spanning several fields; `location` is what the file name says. A method, so that the spec of one kind
   * can stand for "some kind" where the kind is only known at run time.
   */
  rules(data: KindData[K], location: BusPathOf<K> | undefined): FieldViolation[];
  /** File name stem in `schemas/`: `<name>.schema.json`. */
  schemaName: string;
  title: string;
}

const none = (): FieldViolation[] => [];

export const KINDS: { readonly [K in BusKind]: KindSpec<K> } = {
  settings: { schema: settingsSchema, rules: settingsRules, schemaName: 'settings', title: 'gitbus bus settings (gitbus.yaml)' },
  handoff: {
    schema: handoffSchema,
    rules: (h, at) => handoffRules(h, at?.id ?? h.id),
    schemaName: 'handoff',
    title: 'gitbus handoff (handoffs/<id>.md frontmatter)',
  },
  claim: { schema: claimSchema, rules: claimRules, schemaName: 'claim', title: 'gitbus claim (claims/<id>.<attempt>.md frontmatter)' },
  release: { schema: releaseSchema, rules: none, schemaName: 'release', title: 'gitbus release (releases/<id>.<attempt>.md frontmatter)' },
  cancel: { schema: cancelSchema, rules: none, schemaName: 'cancel', title: 'gitbus cancel (cancels/<id>.md frontmatter)' },
  response: { schema: responseSchema, rules: responseRules, schemaName: 'response', title: 'gitbus response (responses/<id>.md frontmatter)' },
  delivery: { schema: deliverySchema, rules: none, schemaName: 'delivery', title: 'gitbus delivery (deliveries/<id>.<attempt>.md frontmatter)' },
  node: { schema: nodeCardSchema, rules: nodeCardRules, schemaName: 'node-card', title: 'gitbus node card (nodes/<node>.md frontmatter)' },
};

export const BUS_KINDS = Object.keys(KINDS) as BusKind[];
