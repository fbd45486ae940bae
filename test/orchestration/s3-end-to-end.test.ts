import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionLock } from '../../lib/publish/partition-lock.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { SAMPLE_REFERENCE } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { NETFLOW_BIN, netflow } from '../support/run-netflow.ts';

// The demo, SQL, status, backfill and the scheduler process, end to end through the real
// `netflow` executable against a real S3 server (s3rver over HTTP, SigV4, path-style), with the
// credentials coming from the SDK's default chain (environment).
describe('netflow against an S3 server', () => {
  let server: S3TestServer;
  let cwd: string;
  let store: S3ObjectStore;

  beforeAll(async () => {
    server = await startS3Server();
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-s3-e2e-'));
    const storeConfig = { type: 's3' as const, bucket: server.bucket, prefix: 'lake/', region: server.region, endpoint: server.endpoint, force_path_style: true };
    await writeFile(
      path.join(cwd, 'netflow.config.yaml'),
      [
        `store: ${JSON.stringify(storeConfig)}`,
        `duckdb: { memory_limit: 1GB, threads: 2 }`,
        `locks: { lease: 1m, wait: 1s }`,
        `publish: { grace_period: 0s }`,
        `scheduler: { catch_up: 1h }`,
        `reference: { inventory: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'inventory.yaml'))}, ip_ranges: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml'))} }`,
        `rules: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'rules.yaml'))}`,
        '',
      ].join('\n'),
    );
    const config = await readFile(path.join(cwd, 'netflow.config.yaml'), 'utf8');
    await writeFile(path.join(cwd, 'rules-changed.yaml'), config.replace(/^rules: .*$/m, 'rules: rules.yaml'));
    store = new S3ObjectStore({ ...storeConfig, max_attempts: 3, multipart_threshold_mb: 16, part_size_mb: 16, conditional_writes: true });
  });
  afterAll(async () => {
    store?.destroy();
    await rm(cwd, { recursive: true, force: true });
    await server?.stop();
  });

  it('runs the demo on S3 and answers SQL over what it published', { timeout: 180_000 }, async () => {
    const demo = await netflow(cwd, ['demo']);
    expect(demo.stderr).not.toContain('"level":"error"');
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`to s3://${server.bucket}/lake/`);
    expect(demo.stdout).toContain('hour 2024-05-01T13  PUBLISHED');
    expect(demo.stdout).toContain('hour 2024-05-01T14  PUBLISHED');
    expect(demo.stdout).toMatch(/no-admin-ports-from-internet\s+185\.220\.101\.45 -> 10\.0\.1\.10:22/);
    const query = await netflow(cwd, ['query', 'SELECT source_type, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1', '--format', 'csv']);
    expect(query.stdout).toBe('source_type,n\nagent,614\naws_vpc,243\nazure_nsg,72\nazure_vnet,241\ngcp_vpc,160\noci_vcn,86\n');
    const alerts = await netflow(cwd, ['query', 'SELECT count(*) AS n FROM alerts', '--format', 'csv']);
    expect(alerts.stdout).toBe('n\n8\n');
  });

  it('status tells published, late, outdated and missing hours apart; backfill reruns the late one, skips the unchanged one and lists the failure', { timeout: 240_000 }, async () => {
    const before = await netflow(cwd, ['status', '--from', '2024-05-01T12', '--to', '2024-05-01T14', '--json']);
    expect(before.code).toBe(1);
    expect(
      before.stdout
        .trim()
        .split('\n')
        .map((line) => `${JSON.parse(line).hour} ${JSON.parse(line).state}`),
    ).toEqual(['2024-05-01T12 missing', '2024-05-01T13 published', '2024-05-01T14 published']);

    // A late agent segment of the 15:00 folder (in 14:00's delivery window, not 13:00's) with a
    // record of 14:00, and hour 12 held by another runner for the whole backfill.
    const late = {
      v: 1,
      vm_id: 'i-0batch000000001',
      interface_id: 'eth0',
      interval_start_at: '2024-05-01T14:59:00.000Z',
      interval_s: 60,
      start_at: '2024-05-01T14:59:30.000Z',
      end_at: '2024-05-01T14:59:31.000Z',
      src_ip: '10.0.5.20',
      dst_ip: '10.0.4.51',
      src_port: 40001,
      dst_port: 6379,
      protocol: 6,
      direction: 'egress',
      packets: 2,
      bytes: 120,
      tcp_flags: 2,
    };
    await store.putBytes('raw/agent/dt=2024-05-01/hour=15/vm=i-0batch000000001/i-0batch000000001-000000000099.ndjson.gz', gzipSync(`${JSON.stringify(late)}\n`));
    const status = await netflow(cwd, ['status', '--from', '2024-05-01T12', '--to', '2024-05-01T14']);
    expect(status.stdout).toMatch(/2024-05-01T14 │ late .*1 added, 0 changed, 0 removed/);
    expect(status.stdout).toContain('published 1, late 1, outdated 0, incomplete 0, failed 0, missing 1');

    const holder = new PartitionLock({ store, partition: { dt: '2024-05-01', hour: '12' }, leaseMs: 60_000, waitMs: 0, owner: 'other-machine:4242' });
    expect((await holder.acquire()).acquired).toBe(true);
    try {
      const backfill = await netflow(cwd, ['backfill', '--from', '2024-05-01T12', '--to', '2024-05-01T14', '--parallel', '2']);
      // The only failure is a lock held by a live runner: exit 3, so that a scheduler can tell contention from breakage.
      expect(backfill.code, backfill.stderr).toBe(3);
      expect(backfill.stdout).toContain('3 hour(s): 1 published, 1 skipped (unchanged), 1 failed');
      expect(backfill.stdout).toMatch(/needs attention:\n {2}2024-05-01T12 {2}failed: partition 2024-05-01T12 is locked by other-machine:4242/);
    } finally {
      await holder.release();
    }
    const after = await netflow(cwd, ['status', '--from', '2024-05-01T13', '--to', '2024-05-01T14']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('published 2, late 0');
    const flows = await netflow(cwd, ['query', "SELECT count(*) AS n FROM flows WHERE start_at >= TIMESTAMP '2024-05-01 14:00:00' AND dt = '2024-05-01'", '--format', 'csv']);
    expect(flows.stdout).toBe('n\n422\n');

    // A rules change makes every published hour outdated (a backfill would rerun them).
    await writeFile(path.join(cwd, 'rules.yaml'), `${await readFile(path.join(SAMPLE_REFERENCE, 'rules.yaml'), 'utf8')}\n# reviewed\n`);
    const changedRules = await netflow(cwd, ['status', '--from', '2024-05-01T13', '--to', '2024-05-01T14', '--config', 'rules-changed.yaml', '--json']);
    expect(changedRules.code, changedRules.stderr).toBe(0);
    expect(
      changedRules.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).state),
    ).toEqual(['outdated', 'outdated']);

    const runs = await netflow(cwd, ['runs', '--from', '2024-05-01T12', '--to', '2024-05-01T12', '--status', 'failed']);
    expect(runs.stdout).toMatch(/2024-05-01T12 │ failed +│ backfill/);
    expect(runs.stdout).not.toContain('2024-05-01T13');
  });

  it('the scheduler process catches up on start and, on SIGTERM, lets the running job finish before it exits 0', { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, [NETFLOW_BIN, 'scheduler'], { cwd, env: { ...process.env, NETFLOW_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // The catch-up run of the hour that is due now is under way: stop the scheduler mid-run.
        if (stderr.includes('objects discovered')) resolve();
      });
      void exited.then(() => reject(new Error(`scheduler exited early: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('scheduler stopping: waiting for the running job');
    expect(stderr).toContain('"msg":"scheduler stopped"');
    const last = (await new RunLedger(path.join(cwd, '.netflow', 'ledger.ndjson')).entries()).at(-1)!;
    expect(`${last.status} ${last.trigger}`).toBe('published catch-up');
    expect(Date.now() - Date.parse(`${last.hour}:00:00Z`)).toBeLessThan(3 * 3_600_000);
  });
});
