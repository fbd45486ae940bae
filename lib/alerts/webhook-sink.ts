import { createHash, createHmac } from 'node:crypto';
import { durationMs, type WebhookSinkConfig } from '../../schemas/config.ts';
import { alertLine, type AlertPayload, type Severity } from './alert-payload.ts';
import type { AlertSink, SinkResult } from './alert-sink.ts';
import { bodyExcerpt, redactSecrets, redactUrl, urlSecrets } from '../log/redact.ts';

/** The subset of `fetch` the sink needs (structural, so tests and proxies can stand in). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface WebhookSinkDeps {
  /** The HMAC key, read by the caller from the environment variable the configuration names. */
  secret?: string | undefined;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  random?: () => number;
}

export const SIGNATURE_HEADER = 'X-Netflow-Signature';
export const TIMESTAMP_HEADER = 'X-Netflow-Timestamp';
export const DELIVERY_HEADER = 'X-Netflow-Delivery';
/** Slack allows 50 blocks per message; one is the header. */
const SLACK_MAX_ALERTS = 40;

/**
 * Signs `<timestamp>.<body>` with HMAC-SHA256 (hex), as `sha256=<hex>`. Receivers recompute it
 * over the raw body and the timestamp header, compare in constant time and refuse old timestamps,
 * which stops both forgery and replay.
 */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A request is retried after network errors, timeouts, 408, 425, 429 and 5xx; other statuses are final. */
export function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * POSTs alerts as JSON to one URL, in batches, with a timeout per request and retries with
 * exponential backoff and jitter. A batch that still fails after its last attempt, and every
 * batch after it, is reported failed (and stays pending); nothing is dropped.
 *
 * Receivers should dedupe on `X-Netflow-Delivery` (a hash of the batch's alert ids): delivery is
 * at least once, since a response lost after the receiver acted looks like a failure here.
 */
export class WebhookSink implements AlertSink {
  readonly name: string;
  readonly minSeverity: Severity;
  private readonly fetch: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private readonly random: () => number;
  /** The URL without user info, and a Basic authorization from it (fetch refuses URLs holding credentials). */
  private readonly requestUrl: string;
  private readonly authorization: string | undefined;
  /** Where errors say the sink points: scheme and host only (lib/log/redact.ts). */
  private readonly target: string;
  /** Values no error of this sink may hold: the URL's parts and the signing key. */
  private readonly secrets: readonly string[];

  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly deps: WebhookSinkDeps = {},
  ) {
    this.name = config.name;
    this.minSeverity = config.min_severity;
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    const url = new URL(config.url);
    this.authorization = url.username || url.password ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` : undefined;
    url.username = '';
    url.password = '';
    this.requestUrl = url.toString();
    this.target = redactUrl(config.url, { path: true });
    this.secrets = [...urlSecrets(config.url), ...(deps.secret ? [deps.secret] : []), ...(this.authorization ? [this.authorization.slice('Basic '.length)] : [])];
  }

  async deliver(alerts: readonly AlertPayload[]): Promise<SinkResult> {
    const result: SinkResult = { delivered: [], failed: [], requests: 0 };
    if (this.config.secret_env && !this.deps.secret) {
      return { delivered: [], failed: alerts.map((a) => a.alert_id), error: `environment variable ${this.config.secret_env} (the webhook's signing key) is not set`, requests: 0 };
    }
    const size = this.config.payload === 'slack' ? Math.min(this.config.batch_size, SLACK_MAX_ALERTS) : this.config.batch_size;
    for (let start = 0; start < alerts.length; start += size) {
      const batch = alerts.slice(start, start + size);
      const ids = batch.map((alert) => alert.alert_id);
      const outcome = await this.post(batch, result);
      if (outcome === true) {
        result.delivered.push(...ids);
        continue;
      }
      result.error = outcome;
      result.failed.push(...alerts.slice(start).map((alert) => alert.alert_id));
      break;
    }
    return result;
  }

  /** One batch, with retries; true when the receiver accepted it, else the last error. */
  private async post(batch: readonly AlertPayload[], result: SinkResult): Promise<true | string> {
    const deliveryId = createHash('sha256')
      .update(batch.map((alert) => alert.alert_id).join('\n'))
      .digest('hex')
      .slice(0, 32);
    const body = JSON.stringify(this.config.payload === 'slack' ? slackMessage(batch) : { schema: 'netflow-lake.alerts/v1', delivery_id: deliveryId, alerts: batch });
    const timeoutMs = durationMs(this.config.timeout);
    let lastError = 'not attempted';
    for (let attempt = 1; attempt <= this.config.max_attempts; attempt++) {
      let retryAfterMs: number | undefined;
      const timestamp = String(Math.floor(this.now().getTime() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'netflow-lake',
        [DELIVERY_HEADER]: deliveryId,
        [TIMESTAMP_HEADER]: timestamp,
      };
      if (this.deps.secret) headers[SIGNATURE_HEADER] = signBody(this.deps.secret, timestamp, body);
      if (this.authorization) headers['authorization'] = this.authorization;
      result.requests = (result.requests ?? 0) + 1;
      try {
        const response = await this.fetch(this.requestUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
        // Read the body so the connection is released; a short, redacted start of it helps the
        // error message (a receiver may echo the token it refused).
        const text = await response.text().catch(() => '');
        if (response.status >= 200 && response.status < 300) return true;
        const excerpt = bodyExcerpt(text, this.secrets);
        lastError = `HTTP ${response.status} from ${this.target}${excerpt ? `: ${excerpt}` : ''}`;
        if (!retryable(response.status)) return `${lastError} (not retried)`;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = Math.min(retryAfter * 1000, 60_000);
      } catch (error) {
        const err = error as Error;
        const detail =
          err.name === 'TimeoutError' || err.name === 'AbortError'
            ? `no response within ${this.config.timeout}`
            : `${err.message}${err.cause ? ` (${err.cause instanceof Error ? err.cause.message : JSON.stringify(err.cause)})` : ''}`;
        lastError = `${redactSecrets(detail, this.secrets)} (${this.target})`;
      }
      if (attempt < this.config.max_attempts) {
        const base = durationMs(this.config.backoff) * 2 ** (attempt - 1);
        await this.sleep(Math.max(retryAfterMs ?? 0, Math.round(base * (0.5 + this.random() / 2))));
      }
    }
    return `${lastError} after ${this.config.max_attempts} attempt(s)`;
  }
}

function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A Slack incoming-webhook message: `text` for notifications, one section block per alert. */
export function slackMessage(alerts: readonly AlertPayload[]): { text: string; blocks: unknown[] } {
  const hours = [...new Set(alerts.map((alert) => alert.hour))].sort();
  const text = `${alerts.length} new netflow alert(s) for ${hours.join(', ')}`;
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: text.slice(0, 150) } },
      ...alerts.map((alert) => ({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: escapeSlack(`${alertLine(alert)}\n${alert.description}${alert.owner ? ` (owner: ${alert.owner})` : ''}\nalert ${alert.alert_id}`).slice(0, 3000),
        },
      })),
    ],
  };
}
