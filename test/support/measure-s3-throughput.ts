/**
 * Measures the S3 adapter against the test s3rver on this machine and prints one JSON line per
 * figure: listing rate (keys/s, 1,150 keys over two pages) and the upload and download rates of
 * a 20 MB multipart object. s3rver (a Node server writing every object, part and metadata file
 * to disk) is the bottleneck, so these figures describe the test harness and the adapter's
 * overhead, not what a real S3 endpoint would sustain.
 *
 *   npx tsx test/support/measure-s3-throughput.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import { startS3Server } from './s3-server.ts';

const MIB = 1024 * 1024;
const KEYS = 1150;
const ROUNDS = 5;

const server = await startS3Server();
const scratch = await mkdtemp(path.join(tmpdir(), 'netflow-s3-measure-'));
const store = new S3ObjectStore(
  s3StoreSchema.parse({
    type: 's3',
    bucket: server.bucket,
    prefix: 'measure/',
    region: server.region,
    endpoint: server.endpoint,
    force_path_style: true,
    multipart_threshold_mb: 8,
    part_size_mb: 5,
  }),
);

try {
  const keys = Array.from({ length: KEYS }, (_, i) => `raw/agent/vm=${i % 7}/${String(i).padStart(5, '0')}.ndjson`);
  let started = performance.now();
  for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((key) => store.putBytes(key, key)));
  report('small PUTs', KEYS / seconds(started), 'objects/s', { objects: KEYS, concurrency: 25 });

  const listRates: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    started = performance.now();
    let listed = 0;
    for await (const info of store.list('raw/agent/')) listed += info.size > 0 ? 1 : 0;
    if (listed !== KEYS) throw new Error(`listed ${listed} keys, expected ${KEYS}`);
    listRates.push(KEYS / seconds(started));
  }
  report('listing', median(listRates), 'keys/s', { keys: KEYS, pages: 2, rounds: ROUNDS, rates: listRates.map(Math.round) });

  const file = path.join(scratch, 'twenty.bin');
  await writeFile(file, randomBytes(20 * MIB));
  const uploadRates: number[] = [];
  const downloadRates: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    started = performance.now();
    await store.putFile(`curated/flows/part-${round}.parquet`, file);
    uploadRates.push(20 / seconds(started));
    started = performance.now();
    await store.getToFile(`curated/flows/part-${round}.parquet`, path.join(scratch, `back-${round}.bin`));
    downloadRates.push(20 / seconds(started));
  }
  report('multipart upload 20 MB', median(uploadRates), 'MB/s', { parts: 4, part_size_mb: 5, rounds: ROUNDS, rates: uploadRates.map(round1) });
  report('download 20 MB', median(downloadRates), 'MB/s', { rounds: ROUNDS, rates: downloadRates.map(round1) });
} finally {
  store.destroy();
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function report(figure: string, value: number, unit: string, detail: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ figure, value: round1(value), unit, ...detail })}\n`);
}
