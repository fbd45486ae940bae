import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { REPO_ROOT, SAMPLE_REFERENCE } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { reportFigures, suiteSeed } from '../reliability/support/reliability-run.ts';

/**
 * Issue 8, security: AWS credentials, webhook signing keys, webhook URLs (which are bearer
 * secrets for Slack and most chat tools) and presigned URLs never appear in logs or outputs.
 * The real `netflow` executable runs at debug level against an S3-protocol server behind a
 * proxy that injects faults (so retry and error paths log too), with fake secrets in its
 * environment and configuration; every byte it printed and every file it left is then scanned.
 */
const execFileAsync = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'bin', 'netflow.mjs');
const seed = suiteSeed();
const token = (bytes: number) => randomBytes(bytes).toString('base64url');

/**
 * The test server checks signatures against its one account, S3RVER/S3RVER, so the key pair is
 * that (still a value nothing may print); the session token (sent with every request) is random.
 */
const SECRETS = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_SESSION_TOKEN: token(90),
  HOOK_SIGNING_KEY: token(24),
};
const HOOK_TOKEN = token(18);
/** Shapes that only a signed request or a presigned URL has. */
const SIGNED_SHAPES = [/X-Amz-Signature=/i, /X-Amz-Credential=/i, /X-Amz-Security-Token=/i, /AWS4-HMAC-SHA256 Credential=/i, /"authorization"\s*:/i];

let dir: string;
let s3: S3TestServer;
let proxy: FaultProxy;
let hook: Server;
const hookRequests: string[] = [];
const outputs: { command: string; code: number; stdout: string; stderr: string }[] = [];

async function netflow(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // NETFLOW_* variables are configuration overrides for the CLI; the suite's own switches are not.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETFLOW_RELIABILITY_')));
  const fullEnv = { ...inherited, ...SECRETS, NETFLOW_CONFIG: path.join(dir, 'netflow.config.yaml'), ...env };
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { cwd: dir, env: fullEnv, maxBuffer: 64 << 20 });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    result = { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
  outputs.push({ command: args.join(' '), ...result });
  return result;
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-secrets-'));
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      // The request line necessarily holds the hook's own URL; headers and body must not hold secrets.
      hookRequests.push(`${JSON.stringify(request.headers)}\n${body}`);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const hookPort = (hook.address() as { port: number }).port;
  await writeFile(
    path.join(dir, 'netflow.config.yaml'),
    [
      'store:',
      '  type: s3',
      `  bucket: ${s3.bucket}`,
      `  region: ${s3.region}`,
      `  endpoint: ${proxy.endpoint}`,
      '  force_path_style: true',
      '  max_attempts: 10',
      'ledger: { path: ./ledger.ndjson }',
      'work_dir: ./work',
      'duckdb: { memory_limit: 512MB, max_temp_directory_size: 1GB, threads: 1 }',
      'reference:',
      `  inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}`,
      `  ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')}`,
      `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
      'alerts:',
      '  sinks:',
      '    - type: webhook',
      '      name: chat',
      `      url: http://127.0.0.1:${hookPort}/services/T000/B000/${HOOK_TOKEN}`,
      '      secret_env: HOOK_SIGNING_KEY',
      '      backoff: 10ms',
      'log: { level: debug }',
      '',
    ].join('\n'),
  );
  // The samples go straight to the server (no faults), with the same fake credentials.
  Object.assign(process.env, SECRETS);
  const direct = new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, force_path_style: true }));
  await deliverSamples({ store: direct });
  proxy.setRate({ rate: 0.15, faults: ['internal-error', 'slow-down', 'reset', 'truncate-body'], seed });
  await netflow(['config', '--dump']);
  await netflow(['run', '--hour', '2024-05-01T13', '--log-level', 'debug']);
  await netflow(['run', '--hour', '2024-05-01T14', '--log-level', 'debug']);
  await netflow(['query', 'SELECT src_ip, dst_ip, dst_port, raw_object_key FROM flows ORDER BY ALL LIMIT 20', '--format', 'csv', '--log-level', 'debug']);
  await netflow(['runs', '--log-level', 'debug']);
  // An error path: a bucket that does not exist, every request refused.
  await netflow(['run', '--hour', '2024-05-01T13', '--log-level', 'debug'], { NETFLOW_STORE__BUCKET: 'no-such-bucket-here' });
  proxy.setRate(undefined);
}, 600_000);

afterAll(async () => {
  await new Promise<void>((resolve) => hook.close(() => resolve()));
  await proxy?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('secrets never appear in logs or outputs', () => {
  it('ran the job through faults, published, and delivered alerts', () => {
    const runs = outputs.filter((o) => o.command.startsWith('run '));
    if (runs.some((o) => o.code === 2))
      throw new Error(
        runs
          .map((o) => o.stderr)
          .join('\n')
          .slice(0, 3000),
      );
    expect(runs.map((o) => o.code)).toEqual([0, 0, 1]);
    expect(outputs.find((o) => o.command.startsWith('query'))!.stdout.split('\n').length).toBeGreaterThan(5);
    expect(proxy.counters.requests).toBeGreaterThan(20);
    // The dump still says where things are, without the hook's token.
    expect(outputs[0]!.stdout).toMatch(/url: http:\/\/127\.0\.0\.1:\d+\/…redacted…/);
  });

  it('in anything printed, any file left in the work folder, the ledger or the bucket, or any webhook request', async () => {
    const haystacks: { where: string; text: string }[] = [];
    for (const o of outputs) {
      haystacks.push({ where: `stdout of netflow ${o.command}`, text: o.stdout });
      haystacks.push({ where: `stderr of netflow ${o.command}`, text: o.stderr });
    }
    for (const file of [...(await filesUnder(dir)), ...(await filesUnder(s3.directory))]) {
      if (file === path.join(dir, 'netflow.config.yaml')) continue; // the operator's own file
      haystacks.push({ where: file, text: (await readFile(file)).toString('latin1') });
    }
    hookRequests.forEach((request, index) => haystacks.push({ where: `webhook request ${index}`, text: request }));
    const findings: string[] = [];
    const needles = [...Object.entries(SECRETS), ['webhook URL token', HOOK_TOKEN] as const];
    for (const { where, text } of haystacks) {
      for (const [name, value] of needles) {
        if (text.includes(value) || text.includes(value.slice(0, 12))) findings.push(`${name} in ${where}`);
      }
      for (const shape of SIGNED_SHAPES) if (shape.test(text)) findings.push(`${shape} in ${where}`);
    }
    reportFigures('security/secrets-scan', {
      seed,
      commands: outputs.length,
      debug_log_lines: outputs.reduce((sum, o) => sum + o.stderr.split('\n').filter(Boolean).length, 0),
      files_scanned: haystacks.length - outputs.length * 2 - hookRequests.length,
      webhook_requests: hookRequests.length,
      s3_requests: proxy.counters.requests,
      faults_injected: proxy.counters.injected,
      findings: findings.length,
    });
    expect(findings).toEqual([]);
    expect(haystacks.length).toBeGreaterThan(30);
  });
});
