import { agentSegmentKey } from '../../schemas/agent-record.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { ReadySegment, Spool } from '../spool/spool.ts';

export interface ShipperOptions {
  spool: Spool;
  store: ObjectStore;
  vmId: string;
  retryInitialMs: number;
  retryMaxMs: number;
  metrics: AgentMetrics;
  log: Logger;
  /** For tests: a source of randomness in [0, 1) for the jitter. */
  random?: () => number;
}

/**
 * Uploads closed segments in sequence order to their deterministic keys, so that a re-send after
 * a crash overwrites instead of duplicating; deletes a segment only after the store acknowledged
 * it; on failure waits with exponential backoff and full jitter, then retries the same segment.
 * The constructor does no I/O.
 */
export class Shipper {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly options: ShipperOptions) {
    options.spool.onSealed(() => this.wake?.());
  }

  keyOf(segment: ReadySegment): string {
    return agentSegmentKey(this.options.vmId, segment.seq, new Date(segment.closedAtMs));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the current upload; with `drainMs`, first keeps shipping until empty or the deadline. */
  async stop(drainMs = 0): Promise<{ pending: number }> {
    if (drainMs > 0 && this.running) {
      const deadline = Date.now() + drainMs;
      while (this.options.spool.readySegments().length > 0 && Date.now() < deadline) {
        this.wake?.();
        await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
      }
    }
    this.running = false;
    this.wake?.();
    await this.loop;
    return { pending: this.options.spool.readySegments().length };
  }

  /** Ships every closed segment now, retrying until done or `deadlineMs` passes. */
  async drain(deadlineMs: number): Promise<{ pending: number }> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const segments = this.options.spool.readySegments();
      if (segments.length === 0 || Date.now() >= deadline) return { pending: segments.length };
      const ok = await this.shipOne(segments[0]!);
      if (!ok) await sleep(Math.min(this.backoffMs(), Math.max(0, deadline - Date.now())));
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = this.options.spool.readySegments()[0];
      if (!next) {
        await this.pause(5_000);
        continue;
      }
      const ok = await this.shipOne(next);
      if (!ok && this.running) await this.pause(this.backoffMs());
    }
  }

  private async shipOne(segment: ReadySegment): Promise<boolean> {
    const { spool, store, metrics, log } = this.options;
    const key = this.keyOf(segment);
    // A damaged segment is quarantined by the spool; shipping it would only move the damage.
    if (!(await spool.verifyReady(segment.seq))) return true;
    spool.beginUpload(segment.seq);
    try {
      log.debug('upload started', { key, seq: segment.seq, bytes: segment.size });
      await store.putFile(key, segment.file, { contentType: 'application/x-ndjson' });
      metrics.uploadsOk++;
      metrics.uploadedBytes += segment.size;
      await spool.remove(segment.seq);
      log.debug('upload acknowledged', { key, seq: segment.seq, records: segment.records });
      this.failures = 0;
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !spool.readySegments().some((s) => s.seq === segment.seq)) {
        // Dropped by the spool's size limit while we were looking at it: already counted as lost.
        return true;
      }
      metrics.uploadsFailed++;
      this.failures++;
      log.warn('upload failed, will retry', { key, seq: segment.seq, attempt: this.failures, error });
      return false;
    } finally {
      spool.endUpload(segment.seq);
    }
  }

  /** Exponential backoff with full jitter: uniform in [initial/2, min(max, initial·2^(n-1))]. */
  private backoffMs(): number {
    const { retryInitialMs, retryMaxMs } = this.options;
    const ceiling = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(30, Math.max(0, this.failures - 1)));
    const random = this.options.random ?? Math.random;
    return Math.max(retryInitialMs / 2, ceiling * random());
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
