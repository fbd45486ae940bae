import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/**
 * A real S3-protocol server (s3rver) that can be stopped and started again on the same port and
 * with the same storage folder, as a store that goes down for a while does. (The shared
 * test/support/s3-server.ts picks a new port and removes its folder on stop, which is right for
 * every other test but cannot model an outage.)
 */
export interface RestartableS3 {
  endpoint: string;
  bucket: string;
  region: string;
  /** Environment for a child process's SDK default credential chain. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRestartableS3(bucket = 'agent-outage'): Promise<RestartableS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'netflow-agent-s3-'));
  let server: Server | undefined;
  let port = 0;
  const start = async (): Promise<void> => {
    const s3rver = new S3rver({ silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
    await s3rver.configureBuckets();
    const handler = s3rver.callback();
    const next = createServer((req, res) => void handler(req, res));
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    port = (next.address() as { port: number }).port;
    server = next;
  };
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(directory, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(directory, 'no-aws-credentials'),
    },
    stop,
    start,
    async destroy() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
