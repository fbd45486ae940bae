import { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { AgentProcess, scrapeMetrics } from './support/agent-process.ts';
import { readAgentObjects, sumByFlow } from './support/lake.ts';
import { startRestartableS3, type RestartableS3 } from './support/restartable-s3.ts';
import { liveCapture } from './support/system-tools.ts';
import { freePort, sendUdp, udpServer, type SentFlow } from './support/traffic.ts';
import { flowKey } from './support/tshark-flows.ts';

// The SDK nags about Node 20 on stderr when a client is built; the test reads with one, and the nag is not ours.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let work: string;
let s3: RestartableS3;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

liveCapture.describe('object store down for a while', () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-outage-'));
    s3 = await startRestartableS3();
  });
  afterAll(async () => {
    await s3?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('a real S3 server stopped and restarted on the same port: uploads fail, are retried, nothing is lost', async () => {
    const receiver = await udpServer('udp4', '127.0.0.1');
    const metricsPort = await freePort();
    const config = path.join(work, 'agent.yaml');
    await writeFile(
      config,
      [
        'vm_id: vm-outage',
        'interval: 1s',
        'capture:',
        '  interface: lo',
        `  filter: udp port ${receiver.port}`,
        'spool:',
        `  dir: ${path.join(work, 'spool')}`,
        '  segment_max_age: 1s',
        'store:',
        '  type: s3',
        `  bucket: ${s3.bucket}`,
        `  endpoint: ${s3.endpoint}`,
        '  region: us-east-1',
        '  force_path_style: true',
        '  max_attempts: 1',
        'shipper:',
        '  retry_initial: 200ms',
        '  retry_max: 1s',
        'metrics:',
        `  port: ${metricsPort}`,
        '',
      ].join('\n'),
    );
    const agent = new AgentProcess(['--config', config], { env: s3.env });
    const sent: SentFlow[] = [];
    const metric = async (name: string): Promise<number> => (await scrapeMetrics(metricsPort)).get(name) ?? Number.NaN;
    try {
      await agent.waitForLog((l) => l.msg === 'capture started');
      sent.push(
        await sendUdp(
          'udp4',
          '127.0.0.1',
          receiver.port,
          Array.from({ length: 20 }, (_, i) => 10 + i),
        ),
      );
      await until('a first acknowledged upload', async () => (await metric('netflow_agent_uploads_ok_total')) >= 1);

      await s3.stop();
      const okBefore = await metric('netflow_agent_uploads_ok_total');
      for (let i = 0; i < 3; i++) {
        sent.push(
          await sendUdp(
            'udp4',
            '127.0.0.1',
            receiver.port,
            Array.from({ length: 10 }, (_, j) => 100 + i * 10 + j),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      await until('failed uploads while the store is down', async () => (await metric('netflow_agent_uploads_failed_total')) >= 2);
      await until('segments waiting in the spool', async () => (await metric('netflow_agent_spool_segments')) >= 1);
      expect(await metric('netflow_agent_uploads_ok_total')).toBe(okBefore);

      await s3.start();
      await until('the spool to drain after the store is back', async () => (await metric('netflow_agent_spool_segments')) === 0);
      sent.push(await sendUdp('udp4', '127.0.0.1', receiver.port, [7, 7, 7]));
      const failed = await metric('netflow_agent_uploads_failed_total');
      expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(agent.logs.some((l) => l.msg === 'upload failed, will retry')).toBe(true);

      const store = new S3ObjectStore(
        {
          type: 's3',
          bucket: s3.bucket,
          prefix: '',
          endpoint: s3.endpoint,
          region: s3.region,
          force_path_style: true,
          max_attempts: 3,
          multipart_threshold_mb: 16,
          part_size_mb: 16,
          conditional_writes: false,
        },
        { client: new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }) },
      );
      const byFlow = sumByFlow((await readAgentObjects(store)).flatMap((o) => o.records));
      for (const flow of sent) {
        const got = byFlow.get(flowKey(17, '127.0.0.1', flow.srcPort, '127.0.0.1', receiver.port));
        expect([got?.packets, got?.bytes]).toEqual([flow.packets, flow.bytes]);
      }
      expect(byFlow.size).toBe(sent.length);
      expect(failed).toBeGreaterThanOrEqual(2);
      expect(await readdir(path.join(work, 'spool', 'ready'))).toEqual([]);
    } finally {
      if (agent.child.exitCode === null) await agent.stop('SIGKILL');
      receiver.close();
    }
  });
});
