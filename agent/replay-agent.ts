import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { durationMs, sizeBytes, type AgentConfig } from '../schemas/agent-config.ts';
import { FlowPipeline } from './flow/flow-pipeline.ts';
import type { LocalNetworks } from './flow/local-networks.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { AgentMetrics } from './metrics/agent-metrics.ts';
import { CaptureStreamParser } from './pcap/capture-stream-parser.ts';
import { Shipper } from './shipper/shipper.ts';
import { Spool, type Checkpoint } from './spool/spool.ts';

export interface ReplayOptions {
  config: AgentConfig;
  pcapFile: string;
  spoolDir: string;
  store: ObjectStore;
  local: LocalNetworks;
  metrics: AgentMetrics;
  log: Logger;
  /** Aborting stops reading; what was read is flushed, spooled and shipped (resumable). */
  signal?: AbortSignal;
}

export interface ReplayResult {
  packets: number;
  /** Packets already accounted for by an earlier, interrupted run of the same file. */
  packetsSkipped: number;
  flowsWritten: number;
  segmentsPending: number;
  complete: boolean;
}

interface ReplayCheckpoint {
  input: string;
  size: number;
  /** Packets of the file whose flows are committed to the spool. */
  packets: number;
  done: boolean;
}

/**
 * Reads a capture file through the same pipeline as a live capture and ships the segments.
 * Resumable: each committed batch records how many packets of the file it covers, so a run killed
 * at any point and started again neither loses nor repeats a packet. Batches are cut where the
 * packet time enters a new interval, so a time-ordered file gives one record per flow per interval.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const { config, log, metrics, signal } = options;
  const file = path.resolve(options.pcapFile);
  const size = (await stat(file)).size;
  const spool = new Spool({
    dir: options.spoolDir,
    segmentMaxBytes: sizeBytes(config.spool.segment_max_size),
    segmentMaxAgeMs: durationMs(config.spool.segment_max_age),
    maxDiskBytes: sizeBytes(config.spool.max_disk_size),
    metrics,
    log,
  });
  const shipper = new Shipper({
    spool,
    store: options.store,
    vmId: config.vm_id,
    retryInitialMs: durationMs(config.shipper.retry_initial),
    retryMaxMs: durationMs(config.shipper.retry_max),
    metrics,
    log,
  });
  const previous = (await spool.open()) as ReplayCheckpoint | null;
  const sameInput = previous !== null && previous.input === file && previous.size === size;
  const skip = sameInput ? previous.packets : 0;
  if (previous && !sameInput) log.info('replay of a different file: starting from its first packet', { previous: previous.input });
  else if (skip > 0) log.info('replay resumes after committed packets', { packets: skip, done: previous!.done });
  shipper.start();

  const pipeline = new FlowPipeline({ vmId: config.vm_id, intervalS: durationMs(config.interval) / 1000, local: options.local, metrics });
  const pending: { records: ReturnType<FlowPipeline['takeAll']>; packets: number }[] = [];
  let index = 0;
  let lastInterval = Number.NEGATIVE_INFINITY;
  const parser = new CaptureStreamParser((buf, offset, capLen, origLen, linkType, tsUs, ifIndex) => {
    index++;
    if (index <= skip) return;
    const interval = pipeline.aggregator.intervalOf(tsUs);
    if (interval > lastInterval) {
      if (pipeline.aggregator.openFlows > 0) pending.push({ records: pipeline.takeAll(), packets: index - 1 });
      lastInterval = interval;
    } else if ((index & 0xffff) === 0 && pipeline.aggregator.openFlows > config.max_open_flows) {
      // The same memory bound as live capture: write out early, sums stay exact.
      pending.push({ records: pipeline.takeAll(), packets: index - 1 });
    }
    pipeline.handle(buf, offset, capLen, origLen, linkType, tsUs, ifIndex);
  });
  const checkpoint = (packets: number, done: boolean): Checkpoint => ({ input: file, size, packets, done }) satisfies ReplayCheckpoint;
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.shift()!;
      await spool.append(batch.records, checkpoint(batch.packets, false));
    }
  };

  const maxPps = config.replay.max_pps;
  const chunk = Buffer.alloc(maxPps > 0 ? 16 * 1024 : 1024 * 1024);
  const handle = await open(file, 'r');
  const startedAt = Date.now();
  let complete = false;
  try {
    if (!(sameInput && previous.done)) {
      let position = 0;
      for (;;) {
        if (signal?.aborted) break;
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) {
          complete = true;
          break;
        }
        position += bytesRead;
        // The parser keeps a copy of any record cut by the chunk end, so the buffer can be reused.
        parser.push(chunk.subarray(0, bytesRead));
        await flush();
        await spool.sealIfDue();
        if (maxPps > 0) {
          const ahead = ((index - skip) / maxPps) * 1000 - (Date.now() - startedAt);
          if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
        }
      }
      if (complete && parser.trailingBytes > 0) log.warn('capture file ends inside a packet', { file, bytes: parser.trailingBytes });
      await flush();
      await spool.append(pipeline.takeAll(), checkpoint(Math.max(index, skip), complete));
    } else {
      complete = true;
    }
    await spool.seal();
    const drainMs = signal?.aborted ? durationMs(config.shipper.shutdown_drain) : 24 * 3_600_000;
    const { pending: segmentsPending } = await shipper.stop(drainMs);
    return {
      packets: Math.max(0, index - skip),
      packetsSkipped: Math.min(skip, index),
      flowsWritten: metrics.flowsWritten,
      segmentsPending,
      complete,
    };
  } finally {
    await handle.close();
    await shipper.stop();
    await spool.close();
  }
}
