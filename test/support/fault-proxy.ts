import { once } from 'node:events';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from './s3-server.ts';
import { seededRandom } from './seeded-random.ts';

/**
 * An in-process HTTP proxy in front of an S3 endpoint that breaks requests on purpose:
 * - `internal-error`: 500 InternalError with S3's XML error body, without forwarding;
 * - `slow-down`: 503 SlowDown with S3's XML error body, without forwarding;
 * - `reset`: the client's connection is destroyed before anything is forwarded;
 * - `reset-after-forward`: the request reaches the store, then the client's connection is
 *   destroyed instead of answering (the client cannot tell whether its write happened);
 * - `truncate-body`: the store's status and headers (with the full Content-Length) are sent,
 *   then half of the body, then the connection is destroyed (an answer without a body, such
 *   as a PUT's, is then complete anyway: the fault is counted but does no harm).
 * Faults come from an explicit schedule (the next matching requests, in order) or, failing
 * that, from a rate with a seeded generator, so a failing run can be replayed. Every request is
 * logged with its headers, and every injected fault is counted.
 */
export type Fault = 'internal-error' | 'slow-down' | 'reset' | 'reset-after-forward' | 'truncate-body';

export type RequestKind = 'list' | 'list-uploads' | 'head' | 'get' | 'put' | 'create-multipart' | 'upload-part' | 'complete-multipart' | 'abort-multipart' | 'delete' | 'other';

export interface ProxiedRequest {
  method: string;
  kind: RequestKind;
  /** Path as sent, still percent-encoded: `/bucket/key`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  fault?: Fault;
}

export type RequestMatcher = (request: ProxiedRequest) => boolean;

export interface FaultRate {
  /** Probability (0..1) that a matching request gets a fault. */
  rate: number;
  faults: readonly Fault[];
  seed: number;
  match?: RequestMatcher;
}

export interface FaultProxyCounters {
  requests: number;
  forwarded: number;
  injected: Record<Fault, number>;
}

export interface FaultProxy {
  endpoint: string;
  readonly counters: FaultProxyCounters;
  readonly requests: readonly ProxiedRequest[];
  /** The next requests that match get these faults, one each, in order. */
  schedule(faults: readonly Fault[], match?: RequestMatcher): void;
  /** Faults at a rate for requests that no scheduled fault claimed; undefined turns it off. */
  setRate(rate: FaultRate | undefined): void;
  /** Called (and awaited) for every request before it is faulted or forwarded. */
  onRequest(listener: ((request: ProxiedRequest) => Promise<void> | void) | undefined): void;
  /** Forgets schedule, rate, listener, counters and log. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let scheduled: Array<{ fault: Fault; match: RequestMatcher }> = [];
  let rate: (FaultRate & { random: () => number }) | undefined;
  let listener: ((request: ProxiedRequest) => Promise<void> | void) | undefined;
  let counters = emptyCounters();
  let log: ProxiedRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const info: ProxiedRequest = {
      method: req.method ?? 'GET',
      kind: kindOf(req.method ?? 'GET', url),
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    };
    counters.requests += 1;
    log.push(info);
    await listener?.(info);

    const index = scheduled.findIndex((entry) => entry.match(info));
    let fault: Fault | undefined;
    if (index >= 0) {
      fault = scheduled[index]?.fault;
      scheduled.splice(index, 1);
    } else if (rate && (rate.match?.(info) ?? true) && rate.random() < rate.rate) {
      fault = rate.faults[Math.floor(rate.random() * rate.faults.length)];
    }
    info.fault = fault;
    if (fault) counters.injected[fault] += 1;

    switch (fault) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'internal-error':
        await drain(req);
        return sendError(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'slow-down':
        await drain(req);
        return sendError(res, 503, 'SlowDown', 'Please reduce your request rate.');
      default:
        counters.forwarded += 1;
        return forward(req, res, fault);
    }
  }

  function forward(req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): Promise<void> {
    return new Promise((resolve) => {
      const headers = { ...req.headers };
      // The proxy answers 100-continue itself; `expect` is never signed, so dropping it is safe.
      delete headers.expect;
      const outgoing = request({
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // The Host header is kept as the client sent it: it is part of the SigV4 signature.
        headers,
        agent,
      });
      outgoing.on('error', () => {
        res.destroy();
        resolve();
      });
      outgoing.on('response', (incoming) => {
        if (fault === 'reset-after-forward') {
          incoming.resume();
          incoming.on('end', () => {
            req.socket.destroy();
            resolve();
          });
          return;
        }
        const responseHeaders = withoutHopByHop(incoming.headers);
        if (fault === 'truncate-body') {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const body = Buffer.concat(chunks);
            res.writeHead(incoming.statusCode ?? 502, { ...responseHeaders, 'content-length': String(body.length) });
            res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
              res.socket?.destroy();
              resolve();
            });
          });
          return;
        }
        res.writeHead(incoming.statusCode ?? 502, responseHeaders);
        incoming.pipe(res);
        res.on('close', () => resolve());
      });
      req.pipe(outgoing);
    });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get counters() {
      return counters;
    },
    get requests() {
      return log;
    },
    schedule(faults, match = () => true) {
      scheduled.push(...faults.map((fault) => ({ fault, match })));
    },
    setRate(next) {
      rate = next ? { ...next, random: seededRandom(next.seed) } : undefined;
    },
    onRequest(next) {
      listener = next;
    },
    reset() {
      scheduled = [];
      rate = undefined;
      listener = undefined;
      counters = emptyCounters();
      log = [];
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** What an S3 request does, from its method, path and query (path-style addressing). */
export function kindOf(method: string, url: URL): RequestKind {
  const q = url.searchParams;
  const hasKey = url.pathname.replace(/^\/[^/]*\/?/, '') !== '';
  if (!hasKey) {
    if (method === 'GET' && q.has('uploads')) return 'list-uploads';
    if (method === 'GET') return 'list';
    return 'other';
  }
  switch (method) {
    case 'HEAD':
      return 'head';
    case 'GET':
      return q.size === 0 || (q.size === 1 && q.has('x-id')) ? 'get' : 'other';
    case 'PUT':
      return q.has('uploadId') ? 'upload-part' : 'put';
    case 'POST':
      if (q.has('uploads')) return 'create-multipart';
      return q.has('uploadId') ? 'complete-multipart' : 'other';
    case 'DELETE':
      return q.has('uploadId') ? 'abort-multipart' : 'delete';
    default:
      return 'other';
  }
}

/** Matches requests of these kinds. */
export function ofKind(...kinds: RequestKind[]): RequestMatcher {
  return (request) => kinds.includes(request.kind);
}

function emptyCounters(): FaultProxyCounters {
  return {
    requests: 0,
    forwarded: 0,
    injected: { 'internal-error': 0, 'slow-down': 0, reset: 0, 'reset-after-forward': 0, 'truncate-body': 0 },
  };
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']) delete copy[name];
  return copy;
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  req.resume();
  await once(req, 'end');
}
