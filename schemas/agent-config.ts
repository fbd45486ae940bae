import { z } from 'zod';
import { storeSchema } from './config.ts';

/**
 * The agent's configuration file (`/etc/netflow-agent/agent.yaml`), YAML, strict: an unknown key
 * is an error. Every key but `vm_id` has a default; command-line flags override the file.
 */

const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'expected a duration such as "500ms", "30s", "5m" or "1h"');

const size = z.string().regex(/^\d+(B|KiB|MiB|GiB|KB|MB|GB)$/, 'expected a size such as "512KiB", "4MiB" or "1GiB"');

const cidrV4 = z.cidrv4();
const cidrV6 = z.cidrv6();
const cidr = z.string().refine((s) => cidrV4.safeParse(s).success || cidrV6.safeParse(s).success, 'expected a CIDR block such as "10.0.0.0/8" or "fd00::/8"');

export const agentConfigSchema = z
  .strictObject({
    /** The VM's id (EC2 instance id, Azure VM id, GCE instance id, or any stable name). Required. */
    vm_id: z.string().min(1).max(256),
    /** Aggregation interval: one record per flow per interval. Whole seconds. */
    interval: duration.default('60s'),
    /** The VM's own address blocks. Empty: the addresses of every local interface, looked up again every minute. */
    local_cidrs: z.array(cidr).default([]),
    /**
     * Memory bound: when more flows than this are being counted (a scan, a flood), the open
     * intervals are written out early. Sums stay exact; a flow may then have two records for one interval.
     */
    max_open_flows: z.number().int().min(1_000).default(500_000),
    capture: z
      .strictObject({
        /** tcpdump `-i`; `any` captures every interface (Linux cooked capture). */
        interface: z.string().min(1).default('any'),
        /** Bytes captured per packet: enough for link, IP (with extension headers) and transport headers. */
        snaplen: z.number().int().min(64).max(65535).default(128),
        /** Optional BPF filter expression passed to tcpdump. */
        filter: z.string().default(''),
        tcpdump_path: z.string().min(1).default('tcpdump'),
        /** How often tcpdump is asked (SIGUSR1) for its kernel-drop counts. */
        stats_interval: duration.default('30s'),
        restart_initial: duration.default('1s'),
        restart_max: duration.default('60s'),
      })
      .default({
        interface: 'any',
        snaplen: 128,
        filter: '',
        tcpdump_path: 'tcpdump',
        stats_interval: '30s',
        restart_initial: '1s',
        restart_max: '60s',
      }),
    spool: z
      .strictObject({
        dir: z.string().min(1).default('/var/lib/netflow-agent/spool'),
        segment_max_size: size.default('4MiB'),
        segment_max_age: duration.default('5m'),
        max_disk_size: size.default('256MiB'),
      })
      .default({ dir: '/var/lib/netflow-agent/spool', segment_max_size: '4MiB', segment_max_age: '5m', max_disk_size: '256MiB' }),
    store: storeSchema.default({ type: 'local', path: './lake' }),
    shipper: z
      .strictObject({
        retry_initial: duration.default('1s'),
        retry_max: duration.default('5m'),
        /** On SIGTERM, how long to keep uploading before exiting with segments left for the next start. */
        shutdown_drain: duration.default('10s'),
      })
      .default({ retry_initial: '1s', retry_max: '5m', shutdown_drain: '10s' }),
    metrics: z
      .strictObject({
        /** Loopback only by default: the metrics are for the local Prometheus agent. */
        host: z.string().default('127.0.0.1'),
        /** 0 disables the endpoint. */
        port: z.number().int().min(0).max(65535).default(9469),
      })
      .default({ host: '127.0.0.1', port: 9469 }),
    replay: z
      .strictObject({
        /** Replay speed limit in packets per second; 0 is as fast as possible. */
        max_pps: z.number().int().min(0).default(0),
      })
      .default({ max_pps: 0 }),
    log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
  })
  .superRefine((config, ctx) => {
    // Runs even when a field failed its own check, so every value is re-tested before use.
    const interval = /^\d+(ms|s|m|h)$/.test(config.interval ?? '') ? durationMs(config.interval) : undefined;
    if (interval !== undefined && (interval % 1000 !== 0 || interval === 0)) {
      ctx.addIssue({ code: 'custom', path: ['interval'], message: 'the interval must be a whole number of seconds' });
    }
    const sizes = [config.spool?.max_disk_size, config.spool?.segment_max_size];
    if (sizes.every((s) => /^\d+(B|KiB|MiB|GiB|KB|MB|GB)$/.test(s ?? '')) && sizeBytes(config.spool.max_disk_size) < 2 * sizeBytes(config.spool.segment_max_size)) {
      ctx.addIssue({ code: 'custom', path: ['spool', 'max_disk_size'], message: 'must be at least twice spool.segment_max_size' });
    }
  });

export type AgentConfig = z.infer<typeof agentConfigSchema>;

export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
}

export function sizeBytes(text: string): number {
  const match = /^(\d+)(B|KiB|MiB|GiB|KB|MB|GB)$/.exec(text);
  if (!match) throw new Error(`not a size: ${text}`);
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 }[match[2] as 'B'];
  return Number(match[1]) * unit;
}
