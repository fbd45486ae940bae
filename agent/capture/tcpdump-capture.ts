import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../lib/log/logger.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { CaptureStreamParser, type PacketHandler } from '../pcap/capture-stream-parser.ts';
import { parseTcpdumpStats } from './tcpdump-stats.ts';

export interface TcpdumpCaptureOptions {
  tcpdumpPath: string;
  interface: string;
  snaplen: number;
  filter: string;
  statsIntervalMs: number;
  restartInitialMs: number;
  restartMaxMs: number;
  onPacket: PacketHandler;
  metrics: AgentMetrics;
  log: Logger;
}

/** Running this long counts as healthy: the restart backoff starts over. */
const STABLE_MS = 30_000;
/**
 * libpcap (TPACKET_V3) hands packets over in blocks that retire after at most ~1 s, and a tcpdump
 * stopped by a signal drops the block it has not handed over yet. So before stopping it we wait
 * this long: every packet that arrived before the stop request is written out first.
 */
const BLOCK_RETIRE_MS = 1_200;

/**
 * Runs tcpdump writing pcap to its stdout (`-U -w -`: flushed per packet) and parses the stream.
 * A tcpdump that dies is restarted with exponential backoff and jitter; the time without capture
 * is logged and counted. Kernel drops come from tcpdump's own counters (SIGUSR1 and exit).
 * The constructor does no I/O.
 */
export class TcpdumpCapture {
  private child: ChildProcess | undefined;
  private listening = false;
  private stopping = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private gapStartedAt: number | undefined;
  /** Drops reported by tcpdumps that have exited, plus the latest report of the running one. */
  private dropsBefore = { kernel: 0, iface: 0 };
  private dropsNow = { kernel: 0, iface: 0 };
  private exited: Promise<void> = Promise.resolve();
  private startedListeners: ((pid: number) => void)[] = [];

  constructor(private readonly options: TcpdumpCaptureOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Called each time a tcpdump reports that it is listening. */
  onListening(listener: (pid: number) => void): void {
    this.startedListeners.push(listener);
  }

  start(): void {
    this.stopping = false;
    this.spawnOne();
    // Only a tcpdump that said it is listening has its SIGUSR1 handler; earlier, the signal would kill it.
    this.statsTimer = setInterval(() => {
      if (this.child && this.listening) this.child.kill('SIGUSR1');
    }, this.options.statsIntervalMs);
    this.statsTimer.unref();
  }

  /** Stops tcpdump and waits until its remaining output is parsed. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => setTimeout(resolve, BLOCK_RETIRE_MS));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(killer);
    }
  }

  private spawnOne(): void {
    const { tcpdumpPath, snaplen, filter, log, metrics } = this.options;
    const args = ['-i', this.options.interface, '-U', '-w', '-', '-s', String(snaplen), '-n'];
    if (filter) args.push(filter);
    const startedAt = Date.now();
    const parser = new CaptureStreamParser(this.options.onPacket);
    let child: ChildProcess;
    try {
      child = spawn(tcpdumpPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      log.error('tcpdump could not be started', { path: tcpdumpPath, error });
      this.scheduleRestart(startedAt);
      return;
    }
    this.child = child;
    this.listening = false;
    this.dropsNow = { kernel: 0, iface: 0 };
    let parseError: unknown;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (parseError) return;
      try {
        parser.push(chunk);
      } catch (error) {
        // A corrupt stream cannot be resynchronised: restart the capture.
        parseError = error;
        log.error('capture stream unreadable, restarting tcpdump', { error });
        child.kill('SIGTERM');
      }
    });
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      const stats = parseTcpdumpStats(line);
      if (stats) {
        if (stats.droppedByKernel !== undefined) this.dropsNow.kernel = stats.droppedByKernel;
        if (stats.droppedByInterface !== undefined) this.dropsNow.iface = stats.droppedByInterface;
        metrics.kernelDrops = this.dropsBefore.kernel + this.dropsNow.kernel;
        metrics.interfaceDrops = this.dropsBefore.iface + this.dropsNow.iface;
        const fields = { pid: child.pid, captured: stats.captured, received_by_filter: stats.receivedByFilter, dropped_by_kernel: stats.droppedByKernel };
        if ((stats.droppedByKernel ?? 0) > 0) log.warn('tcpdump reports kernel drops', fields);
        else log.debug('tcpdump stats', fields);
        return;
      }
      if (/listening on/.test(line)) {
        if (this.child === child) this.listening = true;
        if (this.gapStartedAt !== undefined) {
          const gapS = (Date.now() - this.gapStartedAt) / 1000;
          metrics.captureGapSeconds += gapS;
          log.warn('capture resumed after gap', { gap_s: gapS, restarts: metrics.captureRestarts });
          this.gapStartedAt = undefined;
        }
        log.info('capture started', { pid: child.pid, interface: this.options.interface, tcpdump: line.replace(/^tcpdump: /, '') });
        for (const listener of this.startedListeners) listener(child.pid ?? 0);
        return;
      }
      if (line.trim()) log.warn('tcpdump says', { line });
    });
    this.exited = new Promise((resolve) => {
      let finished = false;
      const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (finished) return;
        finished = true;
        this.dropsBefore.kernel += this.dropsNow.kernel;
        this.dropsBefore.iface += this.dropsNow.iface;
        this.dropsNow = { kernel: 0, iface: 0 };
        if (parser.trailingBytes > 0) log.warn('capture stream ended inside a packet', { bytes: parser.trailingBytes });
        if (this.child === child) this.child = undefined;
        resolve();
        if (this.stopping) return;
        log.error('tcpdump exited', { code, signal, pid: child.pid, ran_ms: Date.now() - startedAt });
        metrics.captureRestarts++;
        this.scheduleRestart(startedAt);
      };
      child.on('error', (error) => {
        log.error('tcpdump failed', { path: tcpdumpPath, error });
        // A spawn failure has no process to wait for.
        if (child.pid === undefined) onEnd(null, null);
      });
      child.on('close', onEnd);
    });
  }

  private scheduleRestart(startedAt: number): void {
    this.gapStartedAt ??= Date.now();
    if (Date.now() - startedAt >= STABLE_MS) this.failures = 0;
    this.failures++;
    const { restartInitialMs, restartMaxMs } = this.options;
    const ceiling = Math.min(restartMaxMs, restartInitialMs * 2 ** Math.min(20, this.failures - 1));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.options.log.info('tcpdump restart scheduled', { in_ms: delay, attempt: this.failures });
    this.restartTimer = setTimeout(() => {
      if (!this.stopping) this.spawnOne();
    }, delay);
  }
}
