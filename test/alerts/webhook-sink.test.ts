import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookSinkSchema } from '../../schemas/config.ts';
import type { AlertPayload } from '../../lib/alerts/alert-payload.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSink } from '../../lib/alerts/webhook-sink.ts';
import { alertFixture, WebhookServer } from './webhook-server.ts';

const SECRET = 'test-signing-key';

/** What a receiver does: recompute the signature over timestamp + raw body and compare in constant time. */
function verify(headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${headers[TIMESTAMP_HEADER.toLowerCase()]}.${body}`).digest('hex')}`);
  const given = Buffer.from(String(headers[SIGNATURE_HEADER.toLowerCase()] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('the webhook sink against a real local HTTP server', () => {
  let server: WebhookServer;
  const sleeps: number[] = [];
  const sink = (overrides: Record<string, unknown> = {}, secret: string | null = SECRET) =>
    new WebhookSink(webhookSinkSchema.parse({ type: 'webhook', name: 'soc', url: server.url, secret_env: 'NETFLOW_TEST_SECRET', timeout: '2s', max_attempts: 4, backoff: '20ms', ...overrides }), {
      secret: secret ?? undefined,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });

  beforeEach(async () => {
    server = new WebhookServer();
    await server.start();
    sleeps.length = 0;
  });
  afterEach(() => server.stop());

  it('retries a failing receiver with exponential backoff until it recovers; every attempt is the same signed batch', async () => {
    server.script('fail', 'fail');
    const result = await sink().deliver([alertFixture('a1'), alertFixture('a2')]);
    expect(result).toMatchObject({ delivered: ['a1', 'a2'], failed: [], requests: 3 });
    expect(result.error).toBeUndefined();
    expect(server.requests.map((r) => r.outcome)).toEqual(['fail', 'fail', 'ok']);
    expect(sleeps).toEqual([15, 30]);
    const deliveries = new Set(server.requests.map((r) => r.headers[DELIVERY_HEADER.toLowerCase()]));
    expect(deliveries.size).toBe(1);
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(verify(request.headers, request.body)).toBe(true);
      expect(verify(request.headers, request.body.replace('10.0.1.10', '10.0.1.11'))).toBe(false);
    }
    const body = JSON.parse(server.accepted()[0]!.body) as { schema: string; alerts: AlertPayload[] };
    expect(body.schema).toBe('netflow-lake.alerts/v1');
    expect(body.alerts.map((a) => a.alert_id)).toEqual(['a1', 'a2']);
    expect(body.alerts[0]).toEqual(alertFixture('a1'));
  });

  it('gives up on a receiver that does not answer within the timeout, then succeeds when it answers', async () => {
    server.script('hang', 'hang');
    const result = await sink({ timeout: '300ms' }).deliver([alertFixture('a1')]);
    expect(result).toMatchObject({ delivered: ['a1'], failed: [], requests: 3 });
    expect(server.requests.map((r) => r.outcome)).toEqual(['hang', 'hang', 'ok']);
  });

  it('reports every alert failed when the receiver stays down, after max_attempts', async () => {
    server.fallback = 'fail';
    const result = await sink({ max_attempts: 3 }).deliver([alertFixture('a1'), alertFixture('a2')]);
    expect(result).toMatchObject({ delivered: [], failed: ['a1', 'a2'], requests: 3 });
    expect(result.error).toMatch(/^HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/…redacted…: failed by the test server after 3 attempt\(s\)$/);
  });

  it('reports a timeout as such when the receiver never answers', async () => {
    server.fallback = 'hang';
    const result = await sink({ max_attempts: 2, timeout: '200ms' }).deliver([alertFixture('a1')]);
    expect(result).toMatchObject({ delivered: [], failed: ['a1'], requests: 2 });
    expect(result.error).toMatch(/^no response within 200ms \(http:\/\/127\.0\.0\.1:\d+\/…redacted…\) after 2 attempt\(s\)$/);
  });

  it('does not retry a request the receiver rejects as bad (4xx), but retries throttling (429)', async () => {
    server.script('reject');
    const rejected = await sink().deliver([alertFixture('a1')]);
    expect(rejected).toMatchObject({ delivered: [], failed: ['a1'], requests: 1 });
    expect(rejected.error).toMatch(/HTTP 400.*not retried/);
    server.script('throttle');
    expect(await sink().deliver([alertFixture('a2')])).toMatchObject({ delivered: ['a2'], requests: 2 });
  });

  it('keeps what a batch before a failure delivered and fails the rest', async () => {
    server.script('ok', 'reject');
    const result = await sink({ batch_size: 2 }).deliver(['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => alertFixture(id)));
    expect(result).toMatchObject({ delivered: ['a1', 'a2'], failed: ['a3', 'a4', 'a5'], requests: 2 });
  });

  it('fails without sending when the signing key named by secret_env is missing', async () => {
    const result = await sink({}, null).deliver([alertFixture('a1')]);
    expect(result).toMatchObject({ delivered: [], failed: ['a1'], requests: 0 });
    expect(result.error).toBe("environment variable NETFLOW_TEST_SECRET (the webhook's signing key) is not set");
    expect(server.requests).toEqual([]);
  });

  it('fails cleanly when nothing listens', async () => {
    const url = server.url;
    await server.stop();
    const result = await new WebhookSink(webhookSinkSchema.parse({ type: 'webhook', name: 'soc', url, max_attempts: 2, backoff: '10ms', timeout: '1s' }), { sleep: async () => {} }).deliver([
      alertFixture('a1'),
    ]);
    expect(result).toMatchObject({ delivered: [], failed: ['a1'], requests: 2 });
    expect(result.error).toMatch(/ECONNREFUSED/);
    await server.start();
  });

  it('sends a Slack-compatible message: text plus one escaped section per alert', async () => {
    const result = await sink({ payload: 'slack' }).deliver([alertFixture('a1', { description: 'no <script> & no SSH' })]);
    expect(result.delivered).toEqual(['a1']);
    const message = JSON.parse(server.accepted()[0]!.body) as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    expect(message.text).toBe('1 new netflow alert(s) for 2024-05-01T13');
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '1 new netflow alert(s) for 2024-05-01T13' } });
    expect(message.blocks[1]!.text.type).toBe('mrkdwn');
    expect(message.blocks[1]!.text.text).toBe(
      'HIGH no-admin-ports-from-internet: 185.220.101.45 -&gt; 10.0.1.10:22 1 connection(s), 360 bytes, 13:15:03..13:16:00 UTC on 2024-05-01 [threat lists: tor-exits]\n' +
        'no &lt;script&gt; &amp; no SSH (owner: security)\nalert a1',
    );
  });
});
