import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { AzureBlobStore } from '../../lib/storage/azure-blob-store.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/azurite-server.ts';
import { REPO_ROOT, SAMPLE_REFERENCE } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { reportFigures } from '../reliability/support/reliability-run.ts';

/**
 * Issue 18: a webhook URL with credentials, a path token or a signed query string appeared whole
 * in delivery errors, and from there in the log, the run summary, the ledger and `netflow runs
 * --json`; an HTTP error's body was copied verbatim. A distinctive secret is planted in every
 * configurable secret — each sink URL's user, password, path token and query signature, each
 * sink's HMAC key, the S3 session token, the Azure SAS token and connection string — and the
 * real `netflow` runs against the S3 test server and Azurite with sinks that fail every way a
 * receiver can (401 echoing the token, 500 echoing the URL, a reset connection, an unresolvable
 * `.invalid` host) beside one that accepts. Every output is then searched for every secret.
 */
const execFileAsync = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'bin', 'netflow.mjs');
const secret = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

const S = {
  userInfoUser: secret('hookuser'),
  userInfoPassword: secret('hookpass'),
  path401: secret('pathtoken401'),
  query401: secret('querysig401'),
  path500: secret('pathtoken500'),
  pathReset: secret('pathtokenreset'),
  pathDns: secret('pathtokendns'),
  queryDns: secret('querytokendns'),
  pathOk: secret('pathtokenok'),
  hmac401: secret('hmackey401'),
  hmac500: secret('hmackey500'),
  hmacOk: secret('hmackeyok'),
  awsSessionToken: secret('awssession'),
  azureSasSig: secret('azuresassig'),
  azureConnectionKey: secret('azureconnkey'),
};

let dir: string;
let s3: S3TestServer;
let azurite: AzuriteServer;
const servers: Server[] = [];
/** What every receiver got: headers (but the Authorization a URL's user info is meant to become) and bodies. */
const received: string[] = [];
const outputs: { command: string; code: number; stdout: string; stderr: string }[] = [];

async function receiver(answer: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const { authorization: _meantForThisReceiver, ...headers } = req.headers;
      received.push(`${JSON.stringify(headers)}\n${body}`);
      answer(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function sinksYaml(ports: { p401: number; p500: number; reset: number; ok: number }): string {
  const sink = (name: string, url: string, secretEnv?: string) =>
    [
      `    - type: webhook`,
      `      name: ${name}`,
      `      url: "${url}"`,
      ...(secretEnv ? [`      secret_env: ${secretEnv}`] : []),
      '      max_attempts: 2',
      '      backoff: 10ms',
      '      timeout: 2s',
    ].join('\n');
  return [
    'alerts:',
    '  sinks:',
    sink('refuses', `http://${S.userInfoUser}:${S.userInfoPassword}@127.0.0.1:${ports.p401}/hooks/${S.path401}?sig=${S.query401}`, 'HMAC_401'),
    sink('fails', `http://127.0.0.1:${ports.p500}/services/T000/B000/${S.path500}`, 'HMAC_500'),
    sink('resets', `http://127.0.0.1:${ports.reset}/hooks/${S.pathReset}`),
    sink('nowhere', `https://hooks.example.invalid/path/${S.pathDns}?token=${S.queryDns}`),
    sink('accepts', `http://127.0.0.1:${ports.ok}/ok/${S.pathOk}`, 'HMAC_OK'),
  ].join('\n');
}

async function netflow(args: string[], env: Record<string, string>): Promise<void> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETFLOW_RELIABILITY_')));
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...inherited, ...env }, maxBuffer: 64 << 20 });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    result = { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
  outputs.push({ command: `${env['NETFLOW_CONFIG'] ? path.basename(env['NETFLOW_CONFIG']) : ''} ${args.join(' ')}`, ...result });
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-secrets-sweep-'));
  s3 = await startS3Server();
  azurite = await startAzurite();
  await azurite.createContainer('lake');
  const ports = {
    // A receiver that refuses, quoting what it refused: the credentials, the URL, the signature.
    p401: await receiver((req, res) =>
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`unauthorized: ${req.headers.authorization} for ${req.url} signature ${req.headers['x-netflow-signature']}`),
    ),
    p500: await receiver((req, res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'boom', url: req.url, trace: `POST ${req.url}\n\u001b[31mstack\u001b[0m` })),
    ),
    reset: await receiver((req) => req.socket.destroy()),
    ok: await receiver((_req, res) => res.writeHead(200).end('ok')),
  };
  const common = [
    'ledger: { path: ./ledger.ndjson }',
    'work_dir: ./work',
    'duckdb: { memory_limit: 512MB, max_temp_directory_size: 1GB, threads: 1 }',
    'reference:',
    `  inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}`,
    `  ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')}`,
    `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
    sinksYaml(ports),
    'log: { level: debug }',
    '',
  ];
  await writeFile(
    path.join(dir, 's3.yaml'),
    ['store:', '  type: s3', `  bucket: ${s3.bucket}`, `  region: ${s3.region}`, `  endpoint: ${s3.endpoint}`, '  force_path_style: true', '  max_attempts: 2', ...common].join('\n'),
  );
  await writeFile(path.join(dir, 'azure.yaml'), ['store:', '  type: azure_blob', `  account_url: ${azurite.accountUrl}`, '  container: lake', '  max_attempts: 2', ...common].join('\n'));

  const env = {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SESSION_TOKEN: S.awsSessionToken,
    AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
    AZURE_STORAGE_KEY: AZURITE_KEY,
    AZURE_STORAGE_SAS_TOKEN: `sv=2024-08-04&ss=b&srt=co&sp=rl&sig=${S.azureSasSig}`,
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${S.azureConnectionKey};BlobEndpoint=${azurite.accountUrl};`,
    HMAC_401: S.hmac401,
    HMAC_500: S.hmac500,
    HMAC_OK: S.hmacOk,
  };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  await deliverSamples({ store: new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, force_path_style: true })) });
  await deliverSamples({
    store: new AzureBlobStore(
      { type: 'azure_blob', account_url: azurite.accountUrl, container: 'lake', prefix: '', max_attempts: 2, block_upload_threshold_mb: 16, block_size_mb: 8 },
      { env: azurite.env },
    ),
  });
  for (const config of ['s3.yaml', 'azure.yaml']) {
    const withConfig = { ...env, NETFLOW_CONFIG: path.join(dir, config) };
    await netflow(['config', '--dump'], withConfig);
    await netflow(['run', '--hour', '2024-05-01T13'], withConfig);
    await netflow(['run', '--hour', '2024-05-01T14'], withConfig);
    await netflow(['runs', '--json'], withConfig);
    await netflow(['report', 'compliance', '--from', '2024-05-01', '--to', '2024-05-01', '--out', path.join(dir, `reports-${config}`)], withConfig);
  }
  // The stores' error paths: a bucket and a container that do not exist.
  await netflow(['run', '--hour', '2024-05-01T13'], { ...env, NETFLOW_CONFIG: path.join(dir, 's3.yaml'), NETFLOW_STORE__BUCKET: 'no-such-bucket' });
  await netflow(['run', '--hour', '2024-05-01T13'], { ...env, NETFLOW_CONFIG: path.join(dir, 'azure.yaml'), NETFLOW_STORE__CONTAINER: 'no-such-container' });
}, 900_000);

afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await s3?.stop();
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('secrets planted in every configurable secret appear in no output', () => {
  it('ran both stores, published, delivered to the accepting sink and failed every other one', () => {
    const runs = outputs.filter((o) => / run --hour/.test(o.command));
    expect(
      runs.map((o) => o.code),
      runs.map((o) => o.stderr.slice(-2000)).join('\n'),
    ).toEqual([0, 0, 0, 0, 1, 1]);
    const summaries = runs.map((o) => o.stdout).join('\n');
    for (const sink of ['refuses', 'fails', 'resets', 'nowhere']) expect(summaries).toMatch(new RegExp(`alert sink ${sink}: delivered 0, .*pending [1-9]`));
    expect(summaries).toMatch(/alert sink accepts: delivered [1-9]/);
    expect(summaries).toMatch(/alert sink refuses: .*HTTP 401 from http:\/\/…redacted…@127\.0\.0\.1:\d+\/…redacted…\?…redacted…: unauthorized: Basic …redacted…/);
  });

  it('in stdout, stderr, the ledger, the work folder, the reports, both stores and every request a receiver got', async () => {
    const haystacks: { where: string; text: string }[] = [];
    for (const o of outputs) {
      haystacks.push({ where: `stdout of netflow${o.command}`, text: o.stdout });
      haystacks.push({ where: `stderr of netflow${o.command}`, text: o.stderr });
    }
    for (const file of [...(await filesUnder(dir)), ...(await filesUnder(s3.directory))]) {
      if (file.endsWith('.yaml') && path.dirname(file) === dir) continue; // the operator's own files
      haystacks.push({ where: file, text: (await readFile(file)).toString('latin1') });
    }
    const azure = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
    let blobs = 0;
    for await (const container of azure.listContainers()) {
      for await (const blob of azure.getContainerClient(container.name).listBlobsFlat()) {
        blobs++;
        haystacks.push({ where: `azurite ${container.name}/${blob.name}`, text: (await azure.getContainerClient(container.name).getBlobClient(blob.name).downloadToBuffer()).toString('latin1') });
      }
    }
    received.forEach((request, index) => haystacks.push({ where: `receiver request ${index}`, text: request }));
    const basic = Buffer.from(`${S.userInfoUser}:${S.userInfoPassword}`).toString('base64');
    const needles = [...Object.entries(S), ['basic authorization', basic] as const];
    const findings: string[] = [];
    for (const { where, text } of haystacks) {
      for (const [name, value] of needles) if (text.includes(value) || text.includes(value.slice(-16))) findings.push(`${name} in ${where}`);
    }
    reportFigures('security/secrets-sweep', {
      secrets_planted: needles.length,
      commands: outputs.length,
      files_and_objects: haystacks.length - outputs.length * 2 - received.length,
      azure_blobs: blobs,
      receiver_requests: received.length,
      findings: findings.length,
    });
    expect(findings).toEqual([]);
    expect(received.length).toBeGreaterThan(8);
  });
});
