import { z } from 'zod';
import { AWS_VPC_DEFAULT_FORMAT, awsVpcFormatSchema } from './sources/aws-vpc.ts';
import { analyticsConfigSchema, DEFAULT_ANALYTICS_CONFIG, DEFAULT_RECOMMEND_CONFIG, DEFAULT_REPORTS_CONFIG, recommendConfigSchema, reportsConfigSchema } from './analytics-config.ts';
import { threatListSchema } from './reference/threat-lists.ts';

/**
 * The one configuration file (`netflow.config.yaml`). Every key has a default that makes the
 * embedded mode work with no file at all: a local folder as object store, a local file as run
 * ledger, and the bundled sample reference data.
 */

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as "500ms", "30s", "15m", "2h" or "7d"');

export const localStoreSchema = z.strictObject({
  type: z.literal('local'),
  /** Root folder of the store. */
  path: z.string().min(1).default('./lake'),
});

export const s3StoreSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(3).max(63),
  /** Key prefix inside the bucket under which every netflow-lake object lives (may be empty). */
  prefix: z.string().default(''),
  /** Falls back to the standard AWS chain (AWS_REGION, profile) when absent. */
  region: z.string().optional(),
  /** Custom endpoint for S3-compatible stores (MinIO, Ceph, R2, GCS and OCI S3 compatibility). */
  endpoint: z.url().optional(),
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need. */
  force_path_style: z.boolean().default(false),
  /** Attempts per request, including the first (the SDK retries throttling, 5xx and resets). */
  max_attempts: z.number().int().min(1).max(20).default(5),
  /** Files at or above this size are uploaded in parts. */
  multipart_threshold_mb: z.number().int().min(5).max(5120).default(16),
  part_size_mb: z.number().int().min(5).max(5120).default(16),
  server_side_encryption: z
    .strictObject({
      type: z.enum(['AES256', 'aws:kms', 'aws:kms:dsse']),
      kms_key_id: z.string().optional(),
    })
    .optional(),
  /** Whether the store honours `If-None-Match: *` on PUT (AWS S3 does since 2024). */
  conditional_writes: z.boolean().default(true),
});

export const azureBlobStoreSchema = z.strictObject({
  type: z.literal('azure_blob'),
  /** Blob service URL, `https://<account>.blob.core.windows.net` (or Azurite's `http://127.0.0.1:10000/<account>`). */
  account_url: z.url(),
  /**
   * The container every object lives in. Absent: the store spans the account, and a key's first
   * segment names its container (`insights-logs-networksecuritygroupflowevent/resourceId=/…` is
   * read where Azure writes NSG flow logs; `curated/…` goes to a `curated` container).
   */
  container: z
    .string()
    .regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, 'expected an Azure container name (3-63 lowercase letters, digits, single hyphens)')
    .optional(),
  /** Blob name prefix under which every netflow-lake object lives (may be empty). */
  prefix: z.string().default(''),
  /** Attempts per request, including the first (the SDK retries throttling, 5xx and resets). */
  max_attempts: z.number().int().min(1).max(20).default(5),
  /** Files at or above this size are uploaded as staged blocks. */
  block_upload_threshold_mb: z.number().int().min(1).max(5000).default(16),
  block_size_mb: z.number().int().min(1).max(4000).default(8),
});

export const storeSchema = z.discriminatedUnion('type', [localStoreSchema, s3StoreSchema, azureBlobStoreSchema]);

export const schedulerSchema = z.strictObject({
  /** Minute of every hour (UTC) at which the hourly job runs for the hour that closed `lateness` ago. */
  hourly_minute: z.number().int().min(0).max(59).default(20),
  /** Minute of every hour at which the late-data rescan looks for partitions whose inputs changed. */
  rescan_minute: z.number().int().min(0).max(59).default(45),
  /** How far back the rescan compares current inputs with the published runs' inputs. */
  rescan_lookback: duration.default('48h'),
  /**
   * How long objects of an hour past the look-back are still looked for: each hourly run lists the
   * delivery windows of the hours between rescan_lookback and late_horizon before it and routes the
   * records of objects that arrived there since to late_records, with an alert (none when not longer
   * than rescan_lookback). Costs one listing per hour folder for sources laid out by hour (agent).
   */
  late_horizon: duration.default('7d'),
  /** On start, hours that fell due within this window and are not published are run first. */
  catch_up: duration.default('24h'),
  /** Time of day (UTC, HH:MM) of the daily report jobs, for the previous day. */
  daily_at: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time such as "01:30"')
    .default('01:30'),
});

export const locksSchema = z.strictObject({
  /** A partition lock not renewed for this long is stale and may be taken over. */
  lease: duration.default('2m'),
  /** How long a runner waits for a partition another runner holds before giving up. */
  wait: duration.default('30m'),
});

/** One range file: YAML or CSV of our own shape, or a provider's published ranges file. */
export const ipRangeSourceSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    /** `yaml`/`csv`: our shape; `aws`: AWS ip-ranges.json; `azure`: Azure Service Tags JSON. Default: by extension. */
    format: z.enum(['yaml', 'csv', 'aws', 'azure']).optional(),
    /** Segment given to every range of a provider file (default: `aws-services` / `azure-services`). */
    segment: z.string().min(1).optional(),
    /** Extra tags on every range of the file. */
    tags: z.array(z.string().min(1)).default([]),
  }),
]);

const severity = z.enum(['low', 'medium', 'high', 'critical']);
const sinkName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'sink names are lowercase letters, digits, dash and underscore');

export const webhookSinkSchema = z.strictObject({
  type: z.literal('webhook'),
  /** Names the sink in the delivery state; renaming a sink makes every alert new to it. */
  name: sinkName,
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** `generic`: {alerts: [...]} JSON; `slack`: a Slack incoming-webhook message (text + blocks). */
  payload: z.enum(['generic', 'slack']).default('generic'),
  /** Environment variable holding the HMAC-SHA256 key (never the key itself in this file). */
  secret_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  timeout: duration.default('10s'),
  /** Attempts per request, including the first. */
  max_attempts: z.number().int().min(1).max(10).default(4),
  /** First retry delay; doubled per attempt, with jitter. */
  backoff: duration.default('1s'),
  /** Alerts per request. */
  batch_size: z.number().int().min(1).max(1000).default(50),
  min_severity: severity.default('low'),
});

export const stdoutSinkSchema = z.strictObject({
  type: z.literal('stdout'),
  name: sinkName,
  /** One JSON object per line, or one human line per alert. */
  format: z.enum(['json', 'text']).default('json'),
  min_severity: severity.default('low'),
});

export const alertSinkSchema = z.discriminatedUnion('type', [webhookSinkSchema, stdoutSinkSchema]);
export type AlertSinkConfig = z.infer<typeof alertSinkSchema>;
export type WebhookSinkConfig = z.infer<typeof webhookSinkSchema>;
export type StdoutSinkConfig = z.infer<typeof stdoutSinkSchema>;

export const sourceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Key prefix under which the source's objects land, in the provider's native layout. */
  prefix: z.string().min(1),
});

export const awsVpcSourceSchema = sourceSchema.extend({
  /**
   * The flow log's format for objects without a header line (CloudWatch Logs exports, Firehose):
   * field names separated by spaces, as in the flow log's LogFormat (`${version} ${account-id} …`
   * is accepted too; schemas/sources/aws-vpc.ts). S3 text and Parquet objects state theirs, which wins.
   */
  format: awsVpcFormatSchema.default(AWS_VPC_DEFAULT_FORMAT),
});

const SOURCE_DEFAULTS = {
  aws_vpc: { enabled: true, prefix: 'raw/aws_vpc/AWSLogs/', format: AWS_VPC_DEFAULT_FORMAT },
  azure_nsg: { enabled: true, prefix: 'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/' },
  azure_vnet: { enabled: true, prefix: 'raw/azure_vnet/insights-logs-flowlogflowevent/' },
  gcp_vpc: { enabled: true, prefix: 'raw/gcp_vpc/compute.googleapis.com/vpc_flows/' },
  oci_vcn: { enabled: true, prefix: 'raw/oci_vcn/' },
  agent: { enabled: true, prefix: 'raw/agent/' },
};

export const configSchema = z.strictObject({
  store: storeSchema.default({ type: 'local', path: './lake' }),
  ledger: z
    .strictObject({
      /** Run ledger file (NDJSON, append-only). */
      path: z.string().min(1).default('./.netflow/ledger.ndjson'),
    })
    .default({ path: './.netflow/ledger.ndjson' }),
  scheduler: schedulerSchema.default(schedulerSchema.parse({})),
  locks: locksSchema.default(locksSchema.parse({})),
  publish: z
    .strictObject({
      /** A data file a commit removed is deleted this long after that commit (readers holding an older snapshot). */
      grace_period: duration.default('1h'),
      /** A Parquet checkpoint of a table's Delta log every this many commits. */
      checkpoint_interval: z.number().int().min(1).default(10),
      /** Commit files a checkpoint covers are deleted once older than this (`delta.logRetentionDuration`); `--as-of` reaches back this far. */
      log_retention: duration.default('30d'),
    })
    .default({ grace_period: '1h', checkpoint_interval: 10, log_retention: '30d' }),
  /** Local staging folder; DuckDB may read and write only below it. */
  work_dir: z.string().min(1).default('./.netflow/work'),
  /** Limits on untrusted raw input, enforced while staging, before any parser sees it (lib/staging/stage-lines.ts). */
  staging: z
    .strictObject({
      /** A longer line is quarantined (its first 4 KiB kept), never parsed; at most 1 MiB, what the staged-line reader accepts. */
      max_line_bytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .default(1024 * 1024),
      /** Decompressed size cap per object (decompression bombs); the object is quarantined whole past it. */
      max_decompressed_bytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .default(8 * 1024 * 1024 * 1024),
      /** Decompressed/compressed ratio cap, checked once past 1 MiB of output. */
      max_compression_ratio: z.number().min(2).max(100_000).default(1000),
      /** Past this many rejected lines an object is quarantined whole (bounds the memory rejected lines take). */
      max_rejected_lines: z.number().int().min(1).max(10_000_000).default(10_000),
      /** Objects staged at once: one in the main thread, the others in worker threads (lib/staging/staging-pool.ts); 1: no worker threads. Default: the machine's available parallelism when the objects add up to 32 MiB or more decompressed (gzip objects counted at 6x their size), else 1. */
      threads: z.number().int().min(1).max(256).optional(),
    })
    .default({ max_line_bytes: 1024 * 1024, max_decompressed_bytes: 8 * 1024 * 1024 * 1024, max_compression_ratio: 1000, max_rejected_lines: 10_000 }),
  duckdb: z
    .strictObject({
      memory_limit: z
        .string()
        .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'expected a size such as "2GB"')
        .default('2GB'),
      max_temp_directory_size: z
        .string()
        .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'expected a size such as "20GB"')
        .default('20GB'),
      threads: z.number().int().min(1).max(256).optional(),
    })
    .default({ memory_limit: '2GB', max_temp_directory_size: '20GB' }),
  /** How long after an hour closes its raw objects may still arrive; the job for H reads objects delivered up to H+1h+lateness. */
  lateness: duration.default('15m'),
  sources: z
    .strictObject({
      aws_vpc: awsVpcSourceSchema.default(SOURCE_DEFAULTS.aws_vpc),
      azure_nsg: sourceSchema.default(SOURCE_DEFAULTS.azure_nsg),
      azure_vnet: sourceSchema.default(SOURCE_DEFAULTS.azure_vnet),
      gcp_vpc: sourceSchema.default(SOURCE_DEFAULTS.gcp_vpc),
      oci_vcn: sourceSchema.default(SOURCE_DEFAULTS.oci_vcn),
      agent: sourceSchema.default(SOURCE_DEFAULTS.agent),
    })
    .default(SOURCE_DEFAULTS),
  /** Reference data; `@samples/…` names the bundled sample files wherever the tool is installed. */
  reference: z
    .strictObject({
      /** Inventory snapshot files (.yaml, .yml, .json or .csv), one or a list; see schemas/reference/inventory.ts. */
      inventory: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('@samples/reference/inventory.yaml'),
      /** Range files: a path (YAML or CSV by extension) or `{ path, format }` for the providers' published files. */
      ip_ranges: z.union([z.string().min(1), z.array(ipRangeSourceSchema).min(1)]).default('@samples/reference/ip-ranges.yaml'),
      /** Threat lists; a hit records the list's name on the flow (`src_threat_lists`, `dst_threat_lists`). */
      threat_lists: z.array(threatListSchema).default([]),
    })
    .default({
      inventory: '@samples/reference/inventory.yaml',
      ip_ranges: '@samples/reference/ip-ranges.yaml',
      threat_lists: [],
    }),
  rules: z.string().min(1).default('@samples/reference/rules.yaml'),
  /** Where alerts go besides the `alerts` table; see lib/alerts/README.md. */
  alerts: z
    .strictObject({
      sinks: z.array(alertSinkSchema).default([]),
    })
    .superRefine((alerts, ctx) => {
      const names = new Set<string>();
      alerts.sinks.forEach((sink, index) => {
        if (names.has(sink.name)) ctx.addIssue({ code: 'custom', path: ['sinks', index, 'name'], message: `duplicate sink name "${sink.name}"` });
        names.add(sink.name);
      });
    })
    .default({ sinks: [] }),
  /** Splitting an hour across workers (`netflow run --shard`, `netflow plan`); sizing in docs/scale-out.md. */
  scale_out: z
    .strictObject({
      /**
       * Raw input (compressed, as listed) per shard: `netflow plan` gives an hour ceil(bytes / this) shards.
       * 128MB is ~5 M flows of AWS VPC Flow Logs v2 (~26.5 gzip bytes a flow): the largest hour the bench
       * measured on one 2-core worker, ~45 s and ~1.3 GiB peak RSS with DuckDB at 1GB.
       */
      bytes_per_shard: z
        .string()
        .regex(/^\d+(B|KiB|MiB|GiB|KB|MB|GB)$/, 'expected a size such as "128MB" or "1GiB"')
        .default('128MB'),
    })
    .default({ bytes_per_shard: '128MB' }),
  /** Anomaly detection and capacity thresholds; see schemas/analytics-config.ts and docs/reports.md. */
  analytics: analyticsConfigSchema.default(DEFAULT_ANALYTICS_CONFIG),
  /** What the compliance and capacity reports show (their daily time is scheduler.daily_at). */
  reports: reportsConfigSchema.default(DEFAULT_REPORTS_CONFIG),
  /** Segmentation recommendations: minimum support, high-risk ports, default deny; see docs/reports.md. */
  recommend: recommendConfigSchema.default(DEFAULT_RECOMMEND_CONFIG),
  log: z
    .strictObject({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .default({ level: 'info' }),
});

export type Config = z.infer<typeof configSchema>;
export type StoreConfig = z.infer<typeof storeSchema>;
export type S3StoreConfig = z.infer<typeof s3StoreSchema>;
export type AzureBlobStoreConfig = z.infer<typeof azureBlobStoreSchema>;

export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
