import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { LocalFolderStore } from '../lib/storage/local-folder-store.ts';
import type { AgentConfig } from '../schemas/agent-config.ts';
import { LocalNetworks } from './flow/local-networks.ts';
import { LiveAgent } from './live-agent.ts';
import { ConfigError, loadAgentConfig, type ConfigOverrides } from './load-config.ts';
import { createLogger, type Logger } from '../lib/log/logger.ts';
import { AgentMetrics } from './metrics/agent-metrics.ts';
import { MetricsServer } from './metrics/metrics-server.ts';
import { runReplay } from './replay-agent.ts';

export const EXIT_OK = 0;
/** Runtime failure: tcpdump missing, spool unusable, capture file unreadable. */
export const EXIT_FAILURE = 1;
/** Bad flags or configuration. */
export const EXIT_USAGE = 2;

const HELP = `netflow-agent: capture flows with tcpdump on this VM and ship them to the object store

Usage:
  netflow-agent [--config agent.yaml] [--vm-id ID] [options]          live capture (runs until SIGTERM)
  netflow-agent --pcap FILE --vm-id ID [--local-cidr CIDR …] --out DIR  replay a capture file, then exit
  netflow-agent --config agent.yaml --check | --dump                    validate / print the effective config

Options:
  -c, --config FILE      YAML configuration (see docs/agent.md); flags override it
      --vm-id ID         the VM id every record is tagged with (vm_id)
  -i, --interface NAME   capture interface (capture.interface, default "any")
      --filter EXPR      BPF filter passed to tcpdump (capture.filter)
      --local-cidr CIDR  the VM's own address block, repeatable (local_cidrs; default: the interfaces' addresses)
      --interval DUR     aggregation interval, e.g. 60s (interval)
      --spool-dir DIR    spool folder (spool.dir)
      --out DIR          ship to this local folder instead of the configured store
      --pcap FILE        replay this pcap/pcapng file instead of capturing (resumable)
      --metrics-port N   Prometheus metrics on 127.0.0.1:N, 0 to disable (metrics.port)
      --log-level LEVEL  debug, info, warn or error (log.level)
      --check            validate the configuration and exit
      --dump             print the effective configuration as YAML and exit
  -h, --help             this text

Exit codes: 0 done (SIGTERM included), 1 runtime failure, 2 bad flags or configuration.
Logs are JSON lines on stderr; replay prints a JSON summary on stdout.
`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  // A reader of our logs that goes away (a closed pipe) must not take the capture down with it.
  if (io === defaultIo) process.stderr.on('error', () => {});
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'vm-id': { type: 'string' },
        interface: { type: 'string', short: 'i' },
        filter: { type: 'string' },
        'local-cidr': { type: 'string', multiple: true },
        interval: { type: 'string' },
        'spool-dir': { type: 'string' },
        out: { type: 'string' },
        pcap: { type: 'string' },
        'metrics-port': { type: 'string' },
        'log-level': { type: 'string' },
        check: { type: 'boolean' },
        dump: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr(`netflow-agent: ${(error as Error).message}\nTry --help.\n`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const metricsPort = values['metrics-port'];
  if (metricsPort !== undefined && !/^\d+$/.test(metricsPort)) {
    io.stderr(`netflow-agent: --metrics-port must be a port number, got ${JSON.stringify(metricsPort)}\n`);
    return EXIT_USAGE;
  }
  if (values.pcap !== undefined && values.out === undefined) {
    io.stderr('netflow-agent: --pcap needs --out DIR (replayed segments never go to the live store, where their keys could collide)\n');
    return EXIT_USAGE;
  }
  const overrides: ConfigOverrides = {
    vm_id: values['vm-id'],
    interval: values.interval,
    local_cidrs: values['local-cidr'],
    capture: { interface: values.interface, filter: values.filter },
    spool: { dir: values['spool-dir'] },
    store: values.out !== undefined ? { type: 'local', path: path.resolve(values.out) } : undefined,
    metrics: { port: metricsPort === undefined ? undefined : Number(metricsPort) },
    log: { level: values['log-level'] },
  };
  if (values.pcap !== undefined && values['spool-dir'] === undefined) {
    // A replay keeps its own spool beside its output, so that re-running it resumes instead of duplicating.
    (overrides.spool as Record<string, unknown>).dir = path.join(path.resolve(values.out!), '.netflow-agent-spool');
  }
  let config: AgentConfig;
  try {
    config = await loadAgentConfig(values.config, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`netflow-agent: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  if (values.dump) {
    io.stdout(toYaml(config));
    return EXIT_OK;
  }
  if (values.check) {
    io.stdout('configuration ok\n');
    return EXIT_OK;
  }
  const log = createLogger({ level: config.log.level, write: io.stderr });
  const metrics = new AgentMetrics();
  let local: LocalNetworks;
  try {
    local = config.local_cidrs.length > 0 ? new LocalNetworks(config.local_cidrs) : values.pcap !== undefined ? new LocalNetworks([]) : LocalNetworks.discover();
  } catch (error) {
    io.stderr(`netflow-agent: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  try {
    return values.pcap !== undefined ? await replay(config, values.pcap, local, metrics, log, io) : await live(config, local, metrics, log);
  } catch (error) {
    log.error('agent failed', { error });
    return EXIT_FAILURE;
  }
}

async function replay(config: AgentConfig, pcapFile: string, local: LocalNetworks, metrics: AgentMetrics, log: Logger, io: CliIo): Promise<number> {
  if (config.local_cidrs.length === 0) log.warn('replay without --local-cidr: every flow is marked transit');
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const store = new LocalFolderStore(config.store.type === 'local' ? config.store.path : '.');
    log.info('replay started', { file: pcapFile, vm_id: config.vm_id, out: store.description, spool: config.spool.dir });
    const result = await runReplay({ config, pcapFile, spoolDir: config.spool.dir, store, local, metrics, log, signal: abort.signal });
    log.info('replay finished', { ...result });
    io.stdout(`${JSON.stringify({ ...result, packets_skipped_by_reason: metrics.packetsSkipped, ip_fragments: metrics.ipFragments })}\n`);
    return EXIT_OK;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function live(config: AgentConfig, local: LocalNetworks, metrics: AgentMetrics, log: Logger): Promise<number> {
  const probe = spawnSync(config.capture.tcpdump_path, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    log.error('tcpdump is not usable', { path: config.capture.tcpdump_path, error: probe.error ?? probe.stderr });
    return EXIT_FAILURE;
  }
  // Loaded only here: the S3 client is most of the start-up time, and replay never needs it.
  const { createObjectStore } = await import('../lib/storage/create-object-store.ts');
  const store = createObjectStore(config.store);
  const agent = new LiveAgent({ config, store, local, metrics, log });
  const server = config.metrics.port > 0 ? new MetricsServer(metrics, config.metrics.host, config.metrics.port) : undefined;
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  process.once('SIGTERM', () => stopRequested());
  process.once('SIGINT', () => stopRequested());
  log.info('agent starting', { vm_id: config.vm_id, interface: config.capture.interface, store: store.description, spool: config.spool.dir, local_cidrs: local.cidrs.length });
  if (server) {
    const port = await server.start();
    log.info('metrics listening', { url: `http://${config.metrics.host}:${port}/metrics` });
  }
  try {
    await agent.start();
    await stopped;
    log.info('stopping: flushing the open interval and the spool');
    const { pending } = await agent.stop();
    log.info('agent stopped', { segments_pending: pending, flows_written: metrics.flowsWritten, packets_seen: metrics.packetsSeen });
    return EXIT_OK;
  } finally {
    await server?.stop();
  }
}
