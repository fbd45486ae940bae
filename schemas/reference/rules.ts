import { z } from 'zod';

/**
 * Conformance rules: baselines as data. A selector names one side of a flow by exactly one
 * property; a rule says which combinations are forbidden (deny), which destinations may only
 * be reached from listed sources (allow_only), that endpoints must be known (require_known), or
 * that no endpoint may be on a threat list (threat). Exceptions excuse matching flows until
 * their expiry (compared with the flow's start, so a rerun gives the same verdicts).
 */
const selectorShapes = {
  ip: z.union([z.ipv4(), z.ipv6()]),
  cidr: z.union([z.cidrv4(), z.cidrv6()]),
  vm: z.string().min(1),
  tag: z.string().min(1),
  segment: z.string().min(1),
  account: z.string().min(1),
  internet: z.literal(true),
  any: z.literal(true),
} as const;

export type SelectorKind = keyof typeof selectorShapes;

export const selectorSchema = z.union(
  (Object.keys(selectorShapes) as SelectorKind[]).map((kind) => z.strictObject({ [kind]: selectorShapes[kind] })) as unknown as [z.ZodType<Selector>, z.ZodType<Selector>, ...z.ZodType<Selector>[]],
  { error: `a selector has exactly one of: ${Object.keys(selectorShapes).join(', ')}` },
);

export type Selector = { ip: string } | { cidr: string } | { vm: string } | { tag: string } | { segment: string } | { account: string } | { internet: true } | { any: true };

const portSpec = z.union([
  z.number().int().min(0).max(65535),
  z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'expected a port or a range such as "1024-2048"')
    .refine((range) => {
      const [low, high] = range.split('-').map(Number) as [number, number];
      return low <= high && high <= 65535;
    }, 'a port range goes from low to high, at most 65535'),
]);

const protocol = z.union([z.enum(['tcp', 'udp', 'icmp', 'icmpv6', 'sctp']), z.number().int().min(0).max(255)]);

/** An exception: flows of the rule that also match these selectors are excused until `expires`. */
export const ruleExceptionSchema = z.strictObject({
  /** Why it exists (a ticket, an approval); shown by `netflow rules check`. */
  reason: z.string().min(1),
  /** Flows that start at or after this time (UTC) are no longer excused. */
  expires: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as "2024-05-01T11:30:00Z"' }),
  from: selectorSchema.optional(),
  to: selectorSchema.optional(),
  ports: z.array(portSpec).min(1).optional(),
});

export type RuleException = z.infer<typeof ruleExceptionSchema>;

const ruleBase = {
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'rule ids are letters, digits, dot, dash and underscore'),
  description: z.string().default(''),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  owner: z.string().optional(),
  ports: z.array(portSpec).optional(),
  protocol: protocol.optional(),
  direction: z.enum(['ingress', 'egress']).optional(),
  /** Which flow actions the rule looks at; `any` by default, `accept` to ignore blocked attempts. */
  action: z.enum(['accept', 'reject', 'any']).default('any'),
  exceptions: z.array(ruleExceptionSchema).default([]),
};

export const denyRuleSchema = z.strictObject({
  ...ruleBase,
  kind: z.literal('deny'),
  from: selectorSchema,
  to: selectorSchema,
});

export const allowOnlyRuleSchema = z.strictObject({
  ...ruleBase,
  kind: z.literal('allow_only'),
  to: selectorSchema,
  /** The only sources allowed to reach `to` on the rule's ports. */
  from: z.array(selectorSchema).min(1),
});

export const requireKnownRuleSchema = z.strictObject({
  ...ruleBase,
  kind: z.literal('require_known'),
  /** `private`: only non-public endpoints must fall in a known range (public ones are the internet); `all`: every endpoint. */
  scope: z.enum(['private', 'all']).default('private'),
});

export const threatRuleSchema = z.strictObject({
  ...ruleBase,
  kind: z.literal('threat'),
  /** Threat list names to look at; all configured lists when absent. */
  lists: z.array(z.string().min(1)).min(1).optional(),
  /** Which end must be on a list: `either` (default), `src` or `dst`. */
  side: z.enum(['either', 'src', 'dst']).default('either'),
});

/** `allow-only` and `require-known` (as people write them) are read as `allow_only` and `require_known`. */
export const ruleSchema = z.preprocess(
  (value) =>
    value && typeof value === 'object' && typeof (value as { kind?: unknown }).kind === 'string'
      ? { ...value, kind: (value as { kind: string }).kind.replace(/^(allow|require)-(only|known)$/, '$1_$2') }
      : value,
  z.discriminatedUnion('kind', [denyRuleSchema, allowOnlyRuleSchema, requireKnownRuleSchema, threatRuleSchema]),
);

export const rulesFileSchema = z
  .strictObject({
    /** A label for people; the rules hash recorded with every run is what identifies a version. */
    version: z.string().min(1).optional(),
    rules: z.array(ruleSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}"` });
      seen.add(rule.id);
    });
  });

export type Rule = z.infer<typeof ruleSchema>;
export type RulesFile = z.infer<typeof rulesFileSchema>;
