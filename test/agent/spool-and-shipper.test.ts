import { mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Shipper } from '../../agent/shipper/shipper.ts';
import { Spool } from '../../agent/spool/spool.ts';
import { silentLogger } from '../../lib/log/logger.ts';
import { AgentMetrics } from '../../agent/metrics/agent-metrics.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { ObjectInfo, ObjectStore } from '../../lib/storage/object-store.ts';
import type { AgentRecord } from '../../schemas/agent-record.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-agent-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(i: number): AgentRecord {
  return {
    v: 1,
    vm_id: 'vm-1',
    interface_id: null,
    interval_start_at: '2026-01-01T00:00:00.000Z',
    interval_s: 60,
    start_at: '2026-01-01T00:00:01.000000Z',
    end_at: '2026-01-01T00:00:02.000000Z',
    src_ip: '10.0.0.1',
    dst_ip: '10.0.0.2',
    src_port: 1000 + i,
    dst_port: 53,
    protocol: 17,
    direction: 'egress',
    packets: 1,
    bytes: 100,
    tcp_flags: 0,
  };
}

function spool(metrics = new AgentMetrics(), options: Partial<{ segmentMaxBytes: number; maxDiskBytes: number; now: () => number }> = {}): Spool {
  return new Spool({ dir: path.join(dir, 'spool'), segmentMaxBytes: 1 << 20, segmentMaxAgeMs: 60_000, maxDiskBytes: 1 << 30, metrics, log: silentLogger, ...options });
}

async function readySegmentLines(s: Spool): Promise<number[]> {
  const ports: number[] = [];
  for (const segment of s.readySegments()) {
    const text = gunzipSync(await readFile(segment.file)).toString();
    for (const line of text.split('\n').filter(Boolean)) ports.push((JSON.parse(line) as AgentRecord).src_port);
  }
  return ports;
}

describe('spool', () => {
  it('rotates by size; closed segments are gzip NDJSON named by sequence, close time and record count', async () => {
    const metrics = new AgentMetrics();
    const s = spool(metrics, { segmentMaxBytes: 1000 });
    await s.open();
    for (let i = 0; i < 10; i++) await s.append([record(i), record(i + 100)]);
    await s.seal();
    const segments = s.readySegments();
    expect(segments.length).toBeGreaterThan(2);
    expect(segments.map((x) => x.seq)).toEqual(segments.map((_, i) => i));
    expect(segments.reduce((a, x) => a + x.records, 0)).toBe(20);
    expect(await readySegmentLines(s)).toEqual(Array.from({ length: 10 }, (_, i) => [1000 + i, 1100 + i]).flat());
    expect(metrics.flowsWritten).toBe(20);
    expect(metrics.spoolSegments).toBe(segments.length);
    await s.close();
  });

  it('a large batch without a checkpoint (live) is split so segments stay near the size limit', async () => {
    const s = spool(new AgentMetrics(), { segmentMaxBytes: 2_000 });
    await s.open();
    await s.append(Array.from({ length: 100 }, (_, i) => record(i)));
    await s.seal();
    const segments = s.readySegments();
    expect(segments.length).toBeGreaterThan(10);
    expect(segments.reduce((a, x) => a + x.records, 0)).toBe(100);
    expect(Math.max(...segments.map((x) => x.records))).toBeLessThanOrEqual(Math.ceil(2_000 / 300) + 1);
    expect(await readySegmentLines(s)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
    await s.close();
  });

  it('a batch with a checkpoint (replay) stays whole, whatever its size', async () => {
    const s = spool(new AgentMetrics(), { segmentMaxBytes: 2_000 });
    await s.open();
    await s.append(
      Array.from({ length: 100 }, (_, i) => record(i)),
      { packets: 100 },
    );
    expect(s.readySegments().map((x) => x.records)).toEqual([100]);
    await s.close();
  });

  it('rotates by age only when the open segment has records', async () => {
    let now = 1_000_000;
    const s = spool(new AgentMetrics(), { now: () => now });
    await s.open();
    await s.sealIfDue();
    expect(s.readySegments()).toHaveLength(0);
    await s.append([record(1)]);
    now += 59_000;
    await s.sealIfDue();
    expect(s.readySegments()).toHaveLength(0);
    now += 1_000;
    await s.sealIfDue();
    expect(s.readySegments().map((x) => x.closedAtMs)).toEqual([now]);
    await s.close();
  });

  it('when full, drops the oldest closed segment and counts the records lost', async () => {
    const metrics = new AgentMetrics();
    const s = spool(metrics, { segmentMaxBytes: 300, maxDiskBytes: 700 });
    await s.open();
    for (let i = 0; i < 30; i++) await s.append([record(i)]);
    expect(metrics.segmentsDropped).toBeGreaterThan(0);
    expect(metrics.recordsLost.spool_full).toBeGreaterThan(0);
    expect(metrics.spoolBytes).toBeLessThanOrEqual(700);
    // What is left plus what was counted lost is everything written.
    const left = s.readySegments().reduce((a, x) => a + x.records, 0);
    await s.seal();
    const afterSeal = s.readySegments().reduce((a, x) => a + x.records, 0);
    expect(afterSeal + metrics.recordsLost.spool_full).toBe(30);
    expect(left).toBeLessThanOrEqual(afterSeal);
    await s.close();
  });

  it('a torn write after the last commit is cut off on recovery, and the checkpoint is the last committed one', async () => {
    const s = spool();
    await s.open();
    await s.append([record(1), record(2)], { packets: 10 });
    await s.append([record(3)], { packets: 20 });
    await s.close();
    const openDir = path.join(dir, 'spool', 'open');
    const [data] = (await readdir(openDir)).filter((n) => n.endsWith('.ndjson'));
    // A crash in the middle of the next batch: half a line in the data, half a commit line.
    await appendFile(path.join(openDir, data!), '{"v":1,"vm_id":"vm-1","interval_st');
    await appendFile(path.join(openDir, data!.replace('.ndjson', '.commit')), '{"len":99');
    const again = spool();
    expect(await again.open()).toEqual({ packets: 20 });
    await again.append([record(4)], { packets: 30 });
    await again.seal();
    expect(await readySegmentLines(again)).toEqual([1001, 1002, 1003, 1004]);
    await again.close();
  });

  it('data written but never committed is not counted and not shipped', async () => {
    const s = spool();
    await s.open();
    await s.append([record(1)], { packets: 1 });
    await s.close();
    const openDir = path.join(dir, 'spool', 'open');
    const [data] = (await readdir(openDir)).filter((n) => n.endsWith('.ndjson'));
    await appendFile(path.join(openDir, data!), `${JSON.stringify(record(2))}\n`);
    const again = spool();
    expect(await again.open()).toEqual({ packets: 1 });
    await again.seal();
    expect(await readySegmentLines(again)).toEqual([1001]);
    await again.close();
  });

  it('a close interrupted after the gzip was renamed into place finishes on recovery without duplicating', async () => {
    const s = spool();
    await s.open();
    await s.append([record(1)], { packets: 5 });
    await s.close();
    // Simulate: the gzip reached ready/, but state.json and the open files were not updated.
    const openDir = path.join(dir, 'spool', 'open');
    const copy = await readFile(path.join(openDir, '000000000000.ndjson'));
    const commits = await readFile(path.join(openDir, '000000000000.commit'));
    const finisher = spool();
    await finisher.open();
    await finisher.seal();
    await finisher.close();
    await writeFile(path.join(openDir, '000000000000.ndjson'), copy);
    await writeFile(path.join(openDir, '000000000000.commit'), commits);
    await writeFile(path.join(dir, 'spool', 'state.json'), JSON.stringify({ nextSeq: 0, checkpoint: null }));
    const again = spool();
    expect(await again.open()).toEqual({ packets: 5 });
    expect(await readdir(openDir)).toEqual([]);
    expect(again.readySegments().map((x) => [x.seq, x.records])).toEqual([[0, 1]]);
    await again.append([record(2)]);
    await again.seal();
    expect(again.readySegments().map((x) => x.seq)).toEqual([0, 1]);
    await again.close();
  });

  it.each([
    ['the key nextSeq renamed by a flipped bit (was NaN sequence numbers: every segment shipped under one key)', (text: string) => text.replace('"nextSeq"', '"nextSeu"')],
    ['a digit of nextSeq changed by a flipped bit (was a lower number: a shipped key reused)', (text: string) => text.replace('"nextSeq":1', '"nextSeq":0')],
    ['a digit of the checkpoint changed (was a replay resuming at the wrong packet)', (text: string) => text.replace('"packets":5', '"packets":7')],
  ])('a state.json that is valid JSON but damaged (%s) is quarantined; numbering jumps past every key used', async (_name, damage) => {
    const s = spool(new AgentMetrics(), { now: () => 1_800_000_000_000 });
    await s.open();
    await s.append([record(1)], { packets: 5 });
    await s.seal();
    await s.remove(0);
    await s.close();
    const stateFile = path.join(dir, 'spool', 'state.json');
    const damaged = damage(await readFile(stateFile, 'utf8'));
    expect(damaged).not.toBe(await readFile(stateFile, 'utf8'));
    expect(() => JSON.parse(damaged)).not.toThrow();
    await writeFile(stateFile, damaged);
    const again = spool(new AgentMetrics(), { now: () => 1_800_000_000_000 });
    // The checkpoint is not trusted: a replay starts over (re-sent records go to new keys).
    expect(await again.open()).toBeNull();
    await again.append([record(2)]);
    await again.seal();
    expect(again.readySegments().map((x) => x.seq)).toEqual([180_000_000_000]);
    expect(await readdir(path.join(dir, 'spool', 'quarantine'))).toContain(`${1_800_000_000_000}-state.json`);
    await again.close();
  });

  it('a commit line changed by a flipped bit is not trusted: the segment is cut back to the commit before it', async () => {
    const s = spool();
    await s.open();
    await s.append([record(1)], { packets: 5 });
    await s.append([record(2)], { packets: 9 });
    await s.close();
    const commitFile = path.join(dir, 'spool', 'open', '000000000000.commit');
    const lines = (await readFile(commitFile, 'utf8')).split('\n');
    // Still valid JSON with plausible numbers: only the checksum tells.
    await writeFile(commitFile, [lines[0], lines[1]!.replace('"packets":9', '"packets":1'), ''].join('\n'));
    const again = spool();
    expect(await again.open()).toEqual({ packets: 5 });
    await again.seal();
    expect(await readySegmentLines(again)).toEqual([1001]);
    await again.close();
  });

  it('sequence numbers never repeat, even after every segment was shipped and deleted', async () => {
    const s = spool();
    await s.open();
    await s.append([record(1)]);
    await s.seal();
    await s.remove(0);
    await s.close();
    const again = spool();
    await again.open();
    await again.append([record(2)]);
    await again.seal();
    expect(again.readySegments().map((x) => x.seq)).toEqual([1]);
    await again.close();
  });
});

/** A store that fails the first `failures` puts, then delegates. */
class FlakyStore implements ObjectStore {
  readonly description = 'flaky';
  puts = 0;
  constructor(
    private readonly inner: ObjectStore,
    private failures: number,
  ) {}
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }
  getToFile(key: string, p: string): Promise<ObjectInfo> {
    return this.inner.getToFile(key, p);
  }
  getBytes(key: string): Promise<Buffer | undefined> {
    return this.inner.getBytes(key);
  }
  async putFile(key: string, p: string): Promise<ObjectInfo> {
    this.puts++;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    }
    return this.inner.putFile(key, p);
  }
  putBytes(key: string, body: Buffer | string): Promise<ObjectInfo> {
    return this.inner.putBytes(key, body);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

describe('shipper', () => {
  it('retries with backoff, keeps the segment until the store acknowledges it, then deletes it', async () => {
    const metrics = new AgentMetrics();
    const s = spool(metrics);
    await s.open();
    await s.append([record(1)]);
    await s.seal();
    const store = new FlakyStore(new LocalFolderStore(path.join(dir, 'lake')), 3);
    const shipper = new Shipper({ spool: s, store, vmId: 'vm/1', retryInitialMs: 10, retryMaxMs: 40, metrics, log: silentLogger, random: () => 0.5 });
    const key = shipper.keyOf(s.readySegments()[0]!);
    expect(key).toMatch(/^raw\/agent\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/vm=vm_1\/vm_1-000000000000\.ndjson\.gz$/);
    expect(await shipper.drain(5_000)).toEqual({ pending: 0 });
    expect([store.puts, metrics.uploadsFailed, metrics.uploadsOk]).toEqual([4, 3, 1]);
    expect(s.readySegments()).toEqual([]);
    expect(await store.getBytes(key)).toBeDefined();
    await s.close();
  });

  it('a store that stays down: nothing deleted, the segment waits for the next start', async () => {
    const metrics = new AgentMetrics();
    const s = spool(metrics);
    await s.open();
    await s.append([record(1)]);
    await s.seal();
    const store = new FlakyStore(new LocalFolderStore(path.join(dir, 'lake')), 1_000);
    const shipper = new Shipper({ spool: s, store, vmId: 'vm-1', retryInitialMs: 5, retryMaxMs: 20, metrics, log: silentLogger });
    expect(await shipper.drain(200)).toEqual({ pending: 1 });
    expect(metrics.uploadsFailed).toBeGreaterThan(3);
    expect(metrics.uploadsOk).toBe(0);
    expect((await readdir(path.join(dir, 'spool', 'ready'))).length).toBe(1);
    await s.close();
  });
});
