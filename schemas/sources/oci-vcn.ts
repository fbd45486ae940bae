import { z } from 'zod';

/**
 * One OCI VCN flow log entry (https://docs.oracle.com/iaas/Content/Logging/Reference/details_for_vcn_flow_logs.htm)
 * as a Connector Hub writes it to Object Storage, one entry per line; the Logging search API
 * wraps the same entry as `{datetime, logContent, regionId}`, accepted too.
 */
const ENTRY_ENVELOPE = {
  id: z.string().optional(),
  time: z.string().optional(),
  specversion: z.string().optional(),
  oracle: z.object({ vnicocid: z.string(), tenantid: z.string(), compartmentid: z.string(), vnicsubnetocid: z.string() }).partial(),
};

const flowEntrySchema = z.object({
  ...ENTRY_ENVELOPE,
  type: z.literal('com.oraclecloud.vcn.flowlogs.DataEvent'),
  data: z
    .object({
      version: z.literal('2'),
      status: z.enum(['OK', 'NODATA', 'SKIPDATA']).optional(),
      action: z.enum(['ACCEPT', 'REJECT']),
      sourceAddress: z.string(),
      destinationAddress: z.string(),
      sourcePort: z.number().int().min(0).max(65535).optional(),
      destinationPort: z.number().int().min(0).max(65535).optional(),
      protocol: z.number().int().min(0).max(255),
      packets: z.number().int().min(0),
      bytesOut: z.number().int().min(0),
      startTime: z.number().int(),
      endTime: z.number().int(),
    })
    .loose(),
});

/** An interval without flows (NoData) or whose flows were not captured (SkipData): only the times are set, the other data fields null. */
const qualityEntrySchema = z.object({
  ...ENTRY_ENVELOPE,
  type: z.enum(['com.oraclecloud.vcn.flowlogs.QualityEvent.NoData', 'com.oraclecloud.vcn.flowlogs.QualityEvent.SkipData']),
  data: z
    .object({
      version: z.literal('2'),
      status: z.enum(['NODATA', 'SKIPDATA']).optional(),
      startTime: z.number().int(),
      endTime: z.number().int(),
    })
    .loose(),
});

export const ociVcnEntrySchema = z.discriminatedUnion('type', [flowEntrySchema, qualityEntrySchema]);

export const ociVcnLineSchema = z.union([ociVcnEntrySchema, z.object({ datetime: z.number().optional(), regionId: z.string().optional(), logContent: ociVcnEntrySchema })]);
export type OciVcnLine = z.infer<typeof ociVcnLineSchema>;
