import { z } from 'zod';

/**
 * One Azure virtual network flow log blob (`PT1H.json`), flowLogVersion 4
 * (https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview#log-format).
 * Tuples are comma-separated strings of these 13 fields; counters are deltas since the flow's
 * previous tuple (B rows carry zeros), so a flow's totals are the sums over its B/C/E tuples.
 */
export const VNET_TUPLE_FIELDS = [
  'time (Unix ms)',
  'source IP',
  'destination IP',
  'source port',
  'destination port',
  'protocol (IANA number)',
  'direction (I/O)',
  'flow state (B/C/E/D, D = denied)',
  'encryption (X, NX, NX_…)',
  'packets src->dst',
  'bytes src->dst',
  'packets dst->src',
  'bytes dst->src',
] as const;

export const vnetRecordSchema = z.object({
  time: z.string(),
  flowLogVersion: z.literal(4),
  flowLogGUID: z.string().optional(),
  macAddress: z.string().regex(/^[0-9A-F]{12}$/i),
  category: z.literal('FlowLogFlowEvent'),
  flowLogResourceID: z.string(),
  targetResourceID: z.string(),
  operationName: z.string(),
  flowRecords: z.object({
    flows: z.array(
      z.object({
        aclID: z.string(),
        flowGroups: z.array(z.object({ rule: z.string(), flowTuples: z.array(z.string()) })),
      }),
    ),
  }),
});

export const vnetDocumentSchema = z.object({ records: z.array(vnetRecordSchema) });
export type VnetDocument = z.infer<typeof vnetDocumentSchema>;
