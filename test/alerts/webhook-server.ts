import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertPayload } from '../../lib/alerts/alert-payload.ts';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** What the server did with it. */
  outcome: Behaviour;
}

/** `hang` holds the request open without answering (a receiver that times out). */
export type Behaviour = 'ok' | 'fail' | 'hang' | 'reject' | 'throttle';

/**
 * A real HTTP receiver on 127.0.0.1 whose answers the test scripts: a queue of behaviours is
 * used first, then `fallback`. Requests are recorded with their raw body and headers.
 */
export class WebhookServer {
  readonly requests: ReceivedRequest[] = [];
  fallback: Behaviour = 'ok';
  private readonly queue: Behaviour[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';

  script(...behaviours: Behaviour[]): void {
    this.queue.push(...behaviours);
  }

  accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => request.outcome === 'ok');
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const outcome = this.queue.shift() ?? this.fallback;
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), outcome });
        if (outcome === 'hang') {
          this.hanging.add(res);
          return;
        }
        const status = { ok: 200, fail: 500, reject: 400, throttle: 429 }[outcome];
        res.writeHead(status, { 'content-type': 'text/plain', ...(outcome === 'throttle' ? { 'retry-after': '0' } : {}) });
        res.end(outcome === 'ok' ? 'ok' : `${outcome}ed by the test server`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/netflow`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

/** An alert as the job hands it to sinks. */
export function alertFixture(id: string, overrides: Partial<AlertPayload> = {}): AlertPayload {
  return {
    alert_id: id,
    rule_id: 'no-admin-ports-from-internet',
    rule_kind: 'deny',
    severity: 'high',
    owner: 'security',
    description: 'SSH and RDP must never be reachable from the internet.',
    hour: '2024-05-01T13',
    src_ip: '185.220.101.45',
    dst_ip: '10.0.1.10',
    dst_port: 22,
    protocol: 6,
    src_vm_id: null,
    dst_vm_id: 'i-0web00000000001',
    src_threat_lists: ['tor-exits'],
    dst_threat_lists: [],
    flow_count: 1,
    observed_by: ['aws_vpc:eni-0web1000000000001'],
    packets: 6,
    bytes: 360,
    first_seen_at: '2024-05-01T13:15:03.000Z',
    last_seen_at: '2024-05-01T13:16:00.000Z',
    sample_flows: [{ flow_id: 'f1' }],
    rules_version: 'sha256:abc',
    run_id: 'run-1',
    ...overrides,
  };
}
