import { z } from 'zod';

/**
 * One GCP VPC Flow Logs entry as a Cloud Logging sink writes it to Cloud Storage: a LogEntry
 * per line with the record in `jsonPayload`
 * (https://cloud.google.com/vpc/docs/about-flow-logs-records). int64 values (bytes_sent,
 * packets_sent, rtt_msec) are JSON strings; ports and protocol are numbers; ports are absent for
 * protocols without them. Instance, VPC and location details are optional metadata.
 */
const int64String = z.string().regex(/^\d+$/);
const instance = z.object({ project_id: z.string(), region: z.string(), vm_name: z.string(), zone: z.string() }).partial();
const vpc = z.object({ project_id: z.string(), vpc_name: z.string(), subnetwork_name: z.string() }).partial();

export const gcpVpcFlowEntrySchema = z.object({
  insertId: z.string().optional(),
  logName: z.string().regex(/\/logs\/compute\.googleapis\.com%2Fvpc_flows$/),
  timestamp: z.string(),
  resource: z.object({ type: z.string(), labels: z.record(z.string(), z.string()) }).optional(),
  jsonPayload: z
    .object({
      connection: z.object({
        src_ip: z.string(),
        dest_ip: z.string(),
        protocol: z.number().int().min(0).max(255),
        src_port: z.number().int().min(0).max(65535).optional(),
        dest_port: z.number().int().min(0).max(65535).optional(),
      }),
      reporter: z.enum(['SRC', 'DEST', 'SRC_GATEWAY', 'DEST_GATEWAY']),
      bytes_sent: int64String,
      packets_sent: int64String,
      rtt_msec: int64String.optional(),
      start_time: z.string(),
      end_time: z.string(),
      src_instance: instance.optional(),
      dest_instance: instance.optional(),
      src_vpc: vpc.optional(),
      dest_vpc: vpc.optional(),
    })
    .loose(),
});
export type GcpVpcFlowEntry = z.infer<typeof gcpVpcFlowEntrySchema>;
