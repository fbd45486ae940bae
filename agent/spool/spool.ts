import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import type { AgentRecord } from '../../schemas/agent-record.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { checkedRecord, isCount, parseReadySegmentName, readySegmentName, syncDirectory, withChecksum, writeFileDurably } from './spool-files.ts';

export interface SpoolOptions {
  dir: string;
  /** An open segment is closed once its uncompressed NDJSON reaches this size. */
  segmentMaxBytes: number;
  /** An open segment with records is closed once it is this old. */
  segmentMaxAgeMs: number;
  /** Open plus closed segments; above it the oldest closed segment is dropped (counted, logged). */
  maxDiskBytes: number;
  metrics: AgentMetrics;
  log: Logger;
  now?: () => number;
}

/** A closed segment waiting for upload. */
export interface ReadySegment {
  seq: number;
  closedAtMs: number;
  records: number;
  size: number;
  file: string;
}

// On the libuv thread pool: compressing a segment must not stall the capture stream.
const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/** Where the input stood when a batch was committed (replay resumes from it); opaque to the spool. */
export type Checkpoint = Record<string, unknown> | null;

interface OpenSegment {
  seq: number;
  data: FileHandle;
  commits: FileHandle;
  dataBytes: number;
  commitBytes: number;
  records: number;
  openedAtMs: number;
}

interface CommitLine {
  len: number;
  records: number;
  at: number;
  cp: Checkpoint;
}

/**
 * The local spool: flow records in NDJSON segments, gzipped when closed.
 *
 * A batch counts as written only when its lines are fsynced and then a commit line naming the new
 * length (and the input checkpoint) is fsynced in the segment's commit file; after a crash the
 * segment is cut back to the last commit, so a torn write is never shipped and never counted.
 * Closing writes the gzip to `ready/` (atomic rename), then `state.json` (next sequence number,
 * checkpoint), then deletes the open files; recovery finishes whichever step a crash interrupted.
 * The constructor does no I/O; `open()` recovers.
 */
export class Spool {
  private readonly openDir: string;
  private readonly readyDir: string;
  private readonly stateFile: string;
  /** Spool files found damaged (disk corruption, a torn copy) are moved here, never retried forever. */
  private readonly quarantineDir: string;
  private readonly now: () => number;
  private nextSeq = 0;
  private checkpoint: Checkpoint = null;
  private current: OpenSegment | undefined;
  private readonly ready = new Map<number, ReadySegment>();
  private readonly inFlight = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly options: SpoolOptions) {
    this.openDir = path.join(options.dir, 'open');
    this.readyDir = path.join(options.dir, 'ready');
    this.stateFile = path.join(options.dir, 'state.json');
    this.quarantineDir = path.join(options.dir, 'quarantine');
    this.now = options.now ?? Date.now;
  }

  /** Recovers from whatever a crash left and returns the last committed checkpoint. */
  open(): Promise<Checkpoint> {
    return this.serial(() => this.recover());
  }

  /** Appends records durably; resolves once they count as written. */
  append(records: readonly AgentRecord[], checkpoint: Checkpoint = null): Promise<void> {
    return this.serial(() => this.appendNow(records, checkpoint));
  }

  /** Closes the open segment if it has records. */
  seal(): Promise<void> {
    return this.serial(() => this.sealNow());
  }

  /** Closes the open segment if it is older than the maximum age. */
  sealIfDue(): Promise<void> {
    return this.serial(async () => {
      const c = this.current;
      if (c && c.records > 0 && this.now() - c.openedAtMs >= this.options.segmentMaxAgeMs) await this.sealNow();
    });
  }

  get lastCheckpoint(): Checkpoint {
    return this.checkpoint;
  }

  readySegments(): ReadySegment[] {
    return [...this.ready.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Marks a segment as being uploaded, so that a full spool does not drop it underneath. */
  beginUpload(seq: number): void {
    this.inFlight.add(seq);
  }

  endUpload(seq: number): void {
    this.inFlight.delete(seq);
  }

  /**
   * Checks a closed segment before it is shipped: a complete gzip stream holding as many lines as
   * its name says. A damaged one is moved to `quarantine/` with a note, counted as lost and logged;
   * false then, and the shipper goes on with the next segment instead of failing on it forever.
   */
  verifyReady(seq: number): Promise<boolean> {
    return this.serial(async () => {
      const segment = this.ready.get(seq);
      if (!segment) return false;
      let problem: string | undefined;
      try {
        const text = await gunzip(await readFile(segment.file));
        let lines = 0;
        for (let index = text.indexOf(10); index >= 0; index = text.indexOf(10, index + 1)) lines++;
        if (text.length > 0 && text[text.length - 1] !== 10) problem = 'the last line has no newline';
        else if (lines !== segment.records) problem = `holds ${lines} lines, its name says ${segment.records} records`;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        problem = `not a complete gzip stream: ${(error as Error).message}`;
      }
      if (problem === undefined) return true;
      this.ready.delete(seq);
      this.options.metrics.recordsLost.spool_corrupt += segment.records;
      this.options.metrics.segmentsDropped++;
      await this.quarantine(segment.file, path.basename(segment.file), { reason: `spool segment is damaged: ${problem}`, seq, records_lost: segment.records });
      this.updateGauges();
      return false;
    });
  }

  private async quarantine(file: string, name: string, fields: Record<string, unknown> & { reason: string }): Promise<void> {
    await mkdir(this.quarantineDir, { recursive: true });
    const target = path.join(this.quarantineDir, `${this.now()}-${name}`);
    await rename(file, target);
    await writeFileDurably(`${target}.reason.json`, JSON.stringify(fields));
    this.options.log.error('spool file quarantined', { ...fields, file: target });
  }

  /** Deletes a segment the object store has acknowledged. */
  remove(seq: number): Promise<void> {
    return this.serial(async () => {
      const segment = this.ready.get(seq);
      if (!segment) return;
      await rm(segment.file, { force: true });
      this.ready.delete(seq);
      this.updateGauges();
    });
  }

  onSealed(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      const c = this.current;
      this.current = undefined;
      if (c) {
        await c.data.close();
        await c.commits.close();
      }
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async recover(): Promise<Checkpoint> {
    await mkdir(this.openDir, { recursive: true });
    await mkdir(this.readyDir, { recursive: true });
    let stateSeq = 0;
    let stateLost = false;
    try {
      const state = checkedRecord(await readFile(this.stateFile, 'utf8'), ['nextSeq', 'checkpoint']);
      if (!state || !isCount(state.nextSeq) || !isCheckpoint(state.checkpoint)) throw new Error('not a spool state record, or its checksum does not match');
      stateSeq = state.nextSeq;
      this.checkpoint = state.checkpoint;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Refusing to start would only crash-loop the agent. The sequence number is rebuilt from
        // the segments on disk below; a replay loses its checkpoint and starts over, and what it
        // sends again goes to new keys, records a reader removes by their key.
        await this.quarantine(this.stateFile, 'state.json', { reason: `spool state is unreadable: ${(error as Error).message}` });
        this.checkpoint = null;
        stateLost = true;
      }
    }
    this.ready.clear();
    for (const name of await readdir(this.readyDir)) {
      const parsed = parseReadySegmentName(name);
      const file = path.join(this.readyDir, name);
      if (!parsed) {
        // A gzip interrupted before its rename: the open segment it came from is still there.
        if (name.startsWith('.tmp-')) await rm(file, { force: true });
        continue;
      }
      this.ready.set(parsed.seq, { ...parsed, file, size: (await stat(file)).size });
    }
    const maxReady = Math.max(-1, ...this.ready.keys());
    this.nextSeq = Math.max(stateSeq, maxReady + 1);
    if (stateLost) {
      // Segments already shipped and deleted left no trace here; numbering on from the ready ones
      // could reuse a shipped segment's key and overwrite it. Jump past any number used so far.
      this.nextSeq = Math.max(this.nextSeq, Math.floor(this.now() / 1000) * 100);
    }
    const openNames = await readdir(this.openDir);
    const openSeqs = openNames
      .map((name) => /^(\d{12})\.ndjson$/.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const seq of openSeqs) {
      const { dataFile, commitFile } = this.openFiles(seq);
      // A commit past the data file's end (the data file cut short, a damaged length) is not trusted.
      const dataBytes = await stat(dataFile).then(
        (s) => s.size,
        () => 0,
      );
      const { last, validBytes } = await readCommits(commitFile, dataBytes);
      if (this.ready.has(seq) || seq < stateSeq) {
        // Already closed; a crash came before state.json or the cleanup. Finish the close.
        if (seq >= stateSeq && last) {
          this.checkpoint = last.cp;
          this.nextSeq = Math.max(this.nextSeq, seq + 1);
          await writeFileDurably(this.stateFile, this.stateRecord(this.checkpoint));
        }
        await rm(dataFile, { force: true });
        await rm(commitFile, { force: true });
        continue;
      }
      if (!last || last.records === 0 || this.current) {
        await rm(dataFile, { force: true });
        await rm(commitFile, { force: true });
        continue;
      }
      // Cut both files back to the last commit: anything after it was never counted as written.
      await truncate(dataFile, last.len);
      await truncate(commitFile, validBytes);
      this.current = {
        seq,
        data: await open(dataFile, 'r+'),
        commits: await open(commitFile, 'r+'),
        dataBytes: last.len,
        commitBytes: validBytes,
        records: last.records,
        openedAtMs: (await readCommits(commitFile, last.len)).first?.at ?? this.now(),
      };
      this.checkpoint = last.cp;
      this.nextSeq = seq;
      this.options.log.info('spool resumed open segment', { seq, records: last.records, bytes: last.len });
    }
    // A close interrupted between its two unlinks leaves one file of a segment that is already closed.
    for (const name of openNames) {
      const seq = Number(/^(\d{12})\./.exec(name)?.[1] ?? Number.NaN);
      if (this.current?.seq === seq) continue;
      await rm(path.join(this.openDir, name), { force: true });
    }
    this.updateGauges();
    if (this.ready.size > 0) this.options.log.info('spool has segments to upload', { segments: this.ready.size });
    return this.checkpoint;
  }

  private async appendNow(records: readonly AgentRecord[], checkpoint: Checkpoint): Promise<void> {
    if (records.length === 0) {
      if (checkpoint === null || JSON.stringify(checkpoint) === JSON.stringify(this.checkpoint)) return;
      if (this.current) await this.writeCommit(this.current, checkpoint);
      else await writeFileDurably(this.stateFile, this.stateRecord(checkpoint));
      this.checkpoint = checkpoint;
      return;
    }
    const lines = records.map((r) => `${JSON.stringify(r)}\n`);
    if (checkpoint === null) {
      // Without a checkpoint a batch need not be atomic: keep segments near their size limit.
      let start = 0;
      let size = this.current?.dataBytes ?? 0;
      for (let i = 0; i < lines.length; i++) {
        size += Buffer.byteLength(lines[i]!);
        if (size >= this.options.segmentMaxBytes && i + 1 < lines.length) {
          await this.writeBatch(lines.slice(start, i + 1), null);
          start = i + 1;
          size = this.current?.dataBytes ?? 0;
        }
      }
      await this.writeBatch(lines.slice(start), null);
      return;
    }
    // With one (replay), the batch and its checkpoint commit together or not at all.
    await this.writeBatch(lines, checkpoint);
  }

  private async writeBatch(lines: readonly string[], checkpoint: Checkpoint): Promise<void> {
    if (lines.length === 0) return;
    const segment = this.current ?? (await this.openSegment());
    const text = lines.join('');
    const bytes = Buffer.from(text);
    await segment.data.write(bytes, 0, bytes.length, segment.dataBytes);
    await segment.data.datasync();
    segment.dataBytes += bytes.length;
    segment.records += lines.length;
    await this.writeCommit(segment, checkpoint);
    this.checkpoint = checkpoint;
    this.options.metrics.flowsWritten += lines.length;
    this.options.log.debug('spool batch written', { seq: segment.seq, records: lines.length });
    if (segment.dataBytes >= this.options.segmentMaxBytes) await this.sealNow();
    else {
      this.updateGauges();
      await this.enforceLimit();
    }
  }

  private stateRecord(checkpoint: Checkpoint): string {
    return withChecksum({ nextSeq: this.nextSeq, checkpoint });
  }

  private async writeCommit(segment: OpenSegment, checkpoint: Checkpoint): Promise<void> {
    const line: CommitLine = { len: segment.dataBytes, records: segment.records, at: this.now(), cp: checkpoint };
    const bytes = Buffer.from(`${withChecksum({ ...line })}\n`);
    await segment.commits.write(bytes, 0, bytes.length, segment.commitBytes);
    await segment.commits.datasync();
    segment.commitBytes += bytes.length;
  }

  private async openSegment(): Promise<OpenSegment> {
    const seq = this.nextSeq;
    const { dataFile, commitFile } = this.openFiles(seq);
    const segment: OpenSegment = {
      seq,
      data: await open(dataFile, 'w+'),
      commits: await open(commitFile, 'w+'),
      dataBytes: 0,
      commitBytes: 0,
      records: 0,
      openedAtMs: this.now(),
    };
    await syncDirectory(this.openDir);
    this.current = segment;
    return segment;
  }

  private async sealNow(): Promise<void> {
    const segment = this.current;
    if (!segment || segment.records === 0) return;
    const closedAtMs = this.now();
    const content = Buffer.alloc(segment.dataBytes);
    await segment.data.read(content, 0, segment.dataBytes, 0);
    const gz = await gzip(content);
    const name = readySegmentName(segment.seq, closedAtMs, segment.records);
    const temp = path.join(this.readyDir, `.tmp-${segment.seq}`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(gz);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const file = path.join(this.readyDir, name);
    await rename(temp, file);
    await syncDirectory(this.readyDir);
    this.options.log.debug('spool segment sealed', { seq: segment.seq, records: segment.records, bytes: gz.length });
    this.nextSeq = segment.seq + 1;
    await writeFileDurably(this.stateFile, this.stateRecord(this.checkpoint));
    this.current = undefined;
    await segment.data.close();
    await segment.commits.close();
    const { dataFile, commitFile } = this.openFiles(segment.seq);
    await unlink(dataFile);
    await unlink(commitFile);
    this.ready.set(segment.seq, { seq: segment.seq, closedAtMs, records: segment.records, size: gz.length, file });
    this.options.metrics.segmentsSealed++;
    this.updateGauges();
    await this.enforceLimit();
    for (const listener of this.listeners) listener();
  }

  private async enforceLimit(): Promise<void> {
    while (this.totalBytes() > this.options.maxDiskBytes) {
      const victim = this.readySegments().find((s) => !this.inFlight.has(s.seq));
      if (!victim) break;
      await rm(victim.file, { force: true });
      this.ready.delete(victim.seq);
      this.options.metrics.recordsLost.spool_full += victim.records;
      this.options.metrics.segmentsDropped++;
      this.options.log.warn('spool full: dropped oldest segment unsent', {
        seq: victim.seq,
        records_lost: victim.records,
        max_disk_bytes: this.options.maxDiskBytes,
      });
      this.updateGauges();
    }
  }

  private totalBytes(): number {
    let total = this.current ? this.current.dataBytes + this.current.commitBytes : 0;
    for (const segment of this.ready.values()) total += segment.size;
    return total;
  }

  private updateGauges(): void {
    this.options.metrics.spoolBytes = this.totalBytes();
    this.options.metrics.spoolSegments = this.ready.size;
  }

  private openFiles(seq: number): { dataFile: string; commitFile: string } {
    const base = path.join(this.openDir, String(seq).padStart(12, '0'));
    return { dataFile: `${base}.ndjson`, commitFile: `${base}.commit` };
  }
}

function isCheckpoint(value: unknown): value is Checkpoint {
  return value === null || (typeof value === 'object' && !Array.isArray(value));
}

async function readCommits(file: string, maxLen: number): Promise<{ first: CommitLine | undefined; last: CommitLine | undefined; validBytes: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { first: undefined, last: undefined, validBytes: 0 };
    throw error;
  }
  let first: CommitLine | undefined;
  let last: CommitLine | undefined;
  let validBytes = 0;
  let start = 0;
  for (;;) {
    const newline = text.indexOf('\n', start);
    if (newline < 0) break;
    const line = checkedRecord(text.slice(start, newline), ['len', 'records', 'at', 'cp']) as CommitLine | undefined;
    if (!line || !isCount(line.len) || !isCount(line.records) || !isCount(line.at) || !isCheckpoint(line.cp) || line.len > maxLen) break;
    last = line;
    first ??= line;
    start = newline + 1;
    validBytes = Buffer.byteLength(text.slice(0, start));
  }
  return { first, last, validBytes };
}
