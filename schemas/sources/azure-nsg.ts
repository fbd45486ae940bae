import { z } from 'zod';

/**
 * One Azure NSG flow log blob (`PT1H.json`), versions 1 and 2
 * (https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview#log-format).
 * Each tuple is a comma-separated string; its fields by version are below. The normalize model
 * (sql/normalize/azure_nsg__records.sql) applies the same rules record by record and tuple by tuple.
 */
export const NSG_TUPLE_FIELDS = {
  1: ['time (Unix s)', 'source IP', 'destination IP', 'source port', 'destination port', 'protocol (T/U)', 'direction (I/O)', 'decision (A/D)'],
  2: [
    'time (Unix s)',
    'source IP',
    'destination IP',
    'source port',
    'destination port',
    'protocol (T/U)',
    'direction (I/O)',
    'decision (A/D)',
    'flow state (B/C/E)',
    'packets src->dst',
    'bytes src->dst',
    'packets dst->src',
    'bytes dst->src',
  ],
} as const;

export const nsgRecordSchema = z.object({
  time: z.string(),
  systemId: z.string().optional(),
  category: z.literal('NetworkSecurityGroupFlowEvent'),
  resourceId: z.string(),
  operationName: z.string(),
  properties: z.object({
    Version: z.union([z.literal(1), z.literal(2)]),
    flows: z.array(
      z.object({
        rule: z.string(),
        flows: z.array(z.object({ mac: z.string().regex(/^[0-9A-F]{12}$/i), flowTuples: z.array(z.string()) })),
      }),
    ),
  }),
});

export const nsgDocumentSchema = z.object({ records: z.array(nsgRecordSchema) });
export type NsgDocument = z.infer<typeof nsgDocumentSchema>;
