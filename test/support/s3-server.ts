import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/**
 * A real S3 server for tests: s3rver on 127.0.0.1, on a free port, with a temporary directory
 * and one bucket. Clients reach it over real HTTP with SigV4 signatures, which s3rver checks
 * against the test credentials S3RVER/S3RVER.
 *
 * s3rver 3.7.1 lacks three things our S3 adapter relies on, so a small in-process front (the
 * HTTP server the endpoint points at, which hands every other request to s3rver's own handler)
 * adds them, the way AWS S3 behaves:
 * - `If-None-Match: *` on PutObject and CompleteMultipartUpload: s3rver ignores it and
 *   overwrites. The front serialises writes per key and answers 412 PreconditionFailed when the
 *   object exists, so the adapter's conditional path is really exercised over HTTP.
 * - ListMultipartUploads (`GET /bucket?uploads`): s3rver answers NotImplemented. The front lists
 *   s3rver's upload folders, so a test can prove that no multipart upload is left open.
 * - AbortMultipartUpload (`DELETE /bucket/key?uploadId=…`): s3rver answers MethodNotAllowed. The
 *   front removes the upload's folder and answers 204.
 * These requests are served without checking signatures; everything else is s3rver's.
 * - Atomic visibility: a GET or HEAD of a key waits for a write of that key in progress.
 *
 * - ListObjectsV2 (`GET /bucket?list-type=2`): s3rver lists keys in the order of a folder walk
 *   ('a/1' before 'a-b', where S3 orders by UTF-8 bytes), pages by "keys after the last one",
 *   which loses keys when the two orders differ, and makes its continuation tokens with DES,
 *   which OpenSSL 3 refuses (every listing longer than one page fails with a 500). The front
 *   lists s3rver's folder itself, in S3's order, with its own continuation tokens.
 */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`, for path-style addressing. */
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver's storage folder (removed by stop()). */
  directory: string;
  /** Every ListObjectsV2 request served, in order (tests count what a listing cost). */
  listRequests: ListRequest[];
  stop(): Promise<void>;
}

export interface ListRequest {
  prefix: string;
  delimiter: string;
  /** Keys and CommonPrefixes in the answer. */
  entries: number;
}

export interface S3TestServerOptions {
  bucket?: string;
}

const UPLOADS_FOLDER = '._S3rver_uploads';

export async function startS3Server(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'netflow-test';
  const directory = await mkdtemp(path.join(tmpdir(), 'netflow-s3rver-'));
  const s3rver = new S3rver({
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  await s3rver.configureBuckets();
  const handleWithS3rver = s3rver.callback();
  const locks = new KeyLocks();
  const listRequests: ListRequest[] = [];

  const server = createServer((req, res) => {
    front(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', `test front failed: ${String(error)}`);
      else res.destroy();
    });
  });

  async function front(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    const [bucketName = '', ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = url.searchParams;
    const method = req.method ?? 'GET';

    if (method === 'GET' && bucketName && !key && query.get('list-type') === '2') {
      await drain(req);
      return listObjectsV2(res, bucketName, query);
    }
    if (method === 'GET' && bucketName && !key && query.has('uploads')) {
      await drain(req);
      return listUploads(res, bucketName, query.get('prefix') ?? '');
    }
    if (method === 'DELETE' && key && query.has('uploadId')) {
      await drain(req);
      return abortUpload(res, bucketName, key, query.get('uploadId') ?? '');
    }
    const isObjectWrite =
      key !== '' && ((method === 'PUT' && !query.has('uploadId') && !query.has('tagging') && !query.has('acl')) || (method === 'POST' && query.has('uploadId')) || method === 'DELETE');
    // A read of an object waits for a write of it in progress: s3rver writes the content and its
    // metadata in steps, so a GET in between sees an empty or partial object, which S3 never shows.
    if (!isObjectWrite) return key !== '' && (method === 'GET' || method === 'HEAD') ? locks.run(`${bucketName}/${key}`, () => forward(req, res)) : forward(req, res);

    await locks.run(`${bucketName}/${key}`, async () => {
      const ifNoneMatch = req.headers['if-none-match'];
      if (ifNoneMatch !== undefined && method !== 'DELETE') {
        if (ifNoneMatch !== '*') {
          await drain(req);
          return sendError(res, 501, 'NotImplemented', 'only If-None-Match: * is supported on writes');
        }
        if (await s3rver.store.existsObject(bucketName, key)) {
          await drain(req);
          return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
            Condition: 'If-None-Match',
          });
        }
      }
      await forward(req, res);
    });
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const done = new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
    });
    void handleWithS3rver(req, res);
    await done;
  }

  async function listObjectsV2(res: ServerResponse, bucketName: string, query: URLSearchParams): Promise<void> {
    const bucketDir = path.join(directory, bucketName);
    if (!(await stat(bucketDir).catch(() => undefined))?.isDirectory()) {
      return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucketName });
    }
    const delimiter = query.get('delimiter') ?? '';
    if (delimiter !== '' && delimiter !== '/') {
      return sendError(res, 501, 'NotImplemented', 'the test server lists with the delimiter "/" or none');
    }
    const prefix = query.get('prefix') ?? '';
    const token = query.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : (query.get('start-after') ?? '');
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
    const urlEncoded = query.get('encoding-type') === 'url';
    const encode = (text: string) => (urlEncoded ? encodeURIComponent(text).replaceAll('%2F', '/') : text);

    // With a delimiter, keys with another '/' after the prefix roll up into their CommonPrefix,
    // which counts as one entry of the page, as on S3.
    const entries = new Set<string>();
    const commonPrefixes = new Set<string>();
    for (const candidate of await walkKeys(bucketDir, '')) {
      if (!candidate.startsWith(prefix)) continue;
      const slash = delimiter ? candidate.indexOf(delimiter, prefix.length) : -1;
      if (slash >= 0) commonPrefixes.add(candidate.slice(0, slash + 1));
      entries.add(slash >= 0 ? candidate.slice(0, slash + 1) : candidate);
    }
    const matching = [...entries].filter((entry) => compareUtf8(entry, after) > 0).sort(compareUtf8);
    const page = matching.slice(0, maxKeys);
    const isTruncated = matching.length > page.length;
    listRequests.push({ prefix, delimiter, entries: page.length });
    const contents: string[] = [];
    for (const listed of page) {
      if (commonPrefixes.has(listed)) {
        contents.push(`<CommonPrefixes><Prefix>${xml(encode(listed))}</Prefix></CommonPrefixes>`);
        continue;
      }
      const metadata = await s3rver.store.getMetadata(bucketName, listed).catch(() => undefined);
      if (!metadata) continue;
      contents.push(
        `<Contents><Key>${xml(encode(listed))}</Key><LastModified>${new Date(metadata['last-modified'] ?? 0).toISOString()}</LastModified>` +
          `<ETag>${xml(metadata['etag'] ?? '')}</ETag><Size>${metadata['content-length']}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    sendXml(
      res,
      200,
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Name>${xml(bucketName)}</Name><Prefix>${xml(encode(prefix))}</Prefix><KeyCount>${contents.length}</KeyCount>` +
        `<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${isTruncated}</IsTruncated>` +
        (token ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : '') +
        (isTruncated ? `<NextContinuationToken>${Buffer.from(page.at(-1) ?? '').toString('base64url')}</NextContinuationToken>` : '') +
        (urlEncoded ? '<EncodingType>url</EncodingType>' : '') +
        contents.join('') +
        '</ListBucketResult>',
    );
  }

  async function listUploads(res: ServerResponse, bucketName: string, prefix: string): Promise<void> {
    const uploadsDir = path.join(directory, bucketName, UPLOADS_FOLDER);
    let ids: string[] = [];
    try {
      ids = await readdir(uploadsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const uploads: string[] = [];
    for (const id of ids.sort()) {
      const uploadKey = await readFile(path.join(uploadsDir, id, 'key'), 'utf8').catch(() => undefined);
      if (uploadKey === undefined || !uploadKey.startsWith(prefix)) continue;
      const initiated = (await stat(path.join(uploadsDir, id))).mtime.toISOString();
      uploads.push(`<Upload><Key>${xml(uploadKey)}</Key><UploadId>${xml(id)}</UploadId><Initiated>${initiated}</Initiated>` + '<StorageClass>STANDARD</StorageClass></Upload>');
    }
    sendXml(
      res,
      200,
      '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${xml(bucketName)}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
        `<IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`,
    );
  }

  async function abortUpload(res: ServerResponse, bucketName: string, key: string, uploadId: string): Promise<void> {
    const uploadDir = path.join(directory, bucketName, UPLOADS_FOLDER, path.basename(uploadId));
    const uploadKey = await readFile(path.join(uploadDir, 'key'), 'utf8').catch(() => undefined);
    if (!/^[0-9a-f]+$/.test(uploadId) || uploadKey !== key) {
      return sendError(res, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.', { UploadId: uploadId });
    }
    await rm(uploadDir, { recursive: true, force: true });
    res.writeHead(204).end();
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const restoreEnv = useTestCredentials(directory);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    directory,
    listRequests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger.close();
      restoreEnv();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

const OBJECT_SUFFIX = '._S3rver_object';

async function walkKeys(folder: string, keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (keyPrefix === '' && entry.name === UPLOADS_FOLDER) continue;
      keys.push(...(await walkKeys(path.join(folder, entry.name), `${keyPrefix}${entry.name}/`)));
    } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
      keys.push(keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length));
    }
  }
  return keys;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Test credentials reach the SDK through its default chain (environment variables), exactly
 * as production credentials do; the shared config files point nowhere and the instance metadata
 * service is off, so no test can pick up a developer's profile or reach out to a metadata host.
 * The values live in this test process's environment until the last server stops.
 */
let envUsers = 0;
let savedEnv: Record<string, string | undefined> = {};

function useTestCredentials(directory: string): () => void {
  const values: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SESSION_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(directory, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(directory, 'no-aws-credentials'),
    // The SDK warns once per process that its 2027 releases need Node 22; not news in a test run.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  if (envUsers === 0) {
    savedEnv = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
    for (const [name, value] of Object.entries(values)) setEnv(name, value);
  }
  envUsers += 1;
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    envUsers -= 1;
    if (envUsers === 0) for (const [name, value] of Object.entries(savedEnv)) setEnv(name, value);
  };
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Runs tasks for the same key one after another. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => gate);
    this.tails.set(key, tail);
    await previous;
    try {
      await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  req.resume();
  await once(req, 'end');
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, detail: Record<string, string> = {}): void {
  const extra = Object.entries(detail)
    .map(([name, value]) => `<${name}>${xml(value)}</${name}>`)
    .join('');
  sendXml(res, status, `<Error><Code>${code}</Code><Message>${xml(message)}</Message>${extra}<RequestId>test</RequestId></Error>`);
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
