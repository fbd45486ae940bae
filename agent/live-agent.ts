import type { ObjectStore } from '../lib/storage/object-store.ts';
import { durationMs, sizeBytes, type AgentConfig } from '../schemas/agent-config.ts';
import { TcpdumpCapture } from './capture/tcpdump-capture.ts';
import { FlowPipeline } from './flow/flow-pipeline.ts';
import { LocalNetworks } from './flow/local-networks.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { AgentMetrics } from './metrics/agent-metrics.ts';
import { Shipper } from './shipper/shipper.ts';
import { Spool } from './spool/spool.ts';

/** After an interval ends, how long to wait for its last packets before closing it. */
const CLOSE_GRACE_US = 2_000_000;

export interface LiveAgentOptions {
  config: AgentConfig;
  store: ObjectStore;
  local: LocalNetworks;
  metrics: AgentMetrics;
  log: Logger;
}

/**
 * Capture → flows → spool → object store. The constructor does no I/O; start() recovers the
 * spool, starts shipping what a previous run left, then starts tcpdump; stop() flushes the open
 * interval and the spool and ships until the drain deadline.
 */
export class LiveAgent {
  private readonly spool: Spool;
  private readonly shipper: Shipper;
  private readonly capture: TcpdumpCapture;
  private readonly pipeline: FlowPipeline;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: LiveAgentOptions) {
    const { config, metrics, log } = options;
    this.spool = new Spool({
      dir: config.spool.dir,
      segmentMaxBytes: sizeBytes(config.spool.segment_max_size),
      segmentMaxAgeMs: durationMs(config.spool.segment_max_age),
      maxDiskBytes: sizeBytes(config.spool.max_disk_size),
      metrics,
      log,
    });
    this.shipper = new Shipper({
      spool: this.spool,
      store: options.store,
      vmId: config.vm_id,
      retryInitialMs: durationMs(config.shipper.retry_initial),
      retryMaxMs: durationMs(config.shipper.retry_max),
      metrics,
      log,
    });
    this.pipeline = new FlowPipeline({
      vmId: config.vm_id,
      intervalS: durationMs(config.interval) / 1000,
      local: options.local,
      metrics,
      interfaceId: config.capture.interface,
    });
    this.capture = new TcpdumpCapture({
      tcpdumpPath: config.capture.tcpdump_path,
      interface: config.capture.interface,
      snaplen: config.capture.snaplen,
      filter: config.capture.filter,
      statsIntervalMs: durationMs(config.capture.stats_interval),
      restartInitialMs: durationMs(config.capture.restart_initial),
      restartMaxMs: durationMs(config.capture.restart_max),
      onPacket: this.pipeline.handle,
      metrics,
      log,
    });
  }

  get tcpdumpPid(): number | undefined {
    return this.capture.pid;
  }

  onCaptureStarted(listener: (pid: number) => void): void {
    this.capture.onListening(listener);
  }

  async start(): Promise<void> {
    await this.spool.open();
    this.shipper.start();
    this.capture.start();
    this.timer = setInterval(() => this.tick(), 1_000);
  }

  async stop(): Promise<{ pending: number }> {
    clearInterval(this.timer);
    await this.capture.stop();
    await this.writing;
    await this.write(this.pipeline.takeAll());
    await this.spool.seal();
    const result = await this.shipper.stop(durationMs(this.options.config.shipper.shutdown_drain));
    await this.spool.close();
    if (result.pending > 0) this.options.log.warn('segments left in the spool for the next start', { segments: result.pending });
    return result;
  }

  private tick(): void {
    const { config, log } = this.options;
    this.ticks++;
    if (config.local_cidrs.length === 0 && this.ticks % 60 === 0) {
      // Addresses come and go (DHCP, hot-plugged interfaces): rediscover them every minute.
      this.pipeline.aggregator.setLocalNetworks(LocalNetworks.discover());
    }
    let records: ReturnType<FlowPipeline['takeAll']>;
    if (this.pipeline.aggregator.openFlows > config.max_open_flows) {
      records = this.pipeline.takeAll();
      log.warn('too many open flows: intervals written out early', { flows: records.length, max_open_flows: config.max_open_flows });
    } else {
      records = this.pipeline.takeEndedBy(Date.now() * 1000 - CLOSE_GRACE_US);
    }
    this.writing = this.writing.then(async () => {
      await this.write(records);
      await this.spool.sealIfDue();
    });
  }

  private async write(records: ReturnType<FlowPipeline['takeAll']>): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.spool.append(records);
    } catch (error) {
      // A disk error must not take the capture down; the records are counted and logged as lost.
      this.options.metrics.recordsLost.spool_write_failed += records.length;
      this.options.log.error('spool write failed: records lost', { records: records.length, error });
    }
  }
}
