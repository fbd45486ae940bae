import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, stdoutSinkSchema } from '../../schemas/config.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { deliverAlerts } from '../../lib/alerts/deliver-alerts.ts';
import { pendingPrefix } from '../../lib/alerts/delivery-state.ts';
import { StdoutSink } from '../../lib/alerts/stdout-sink.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { alertFixture, WebhookServer } from './webhook-server.ts';

const SECRET = 'delivery-e2e-key';

describe('alert delivery over the sample hours: once per alert, nothing lost while the receiver is down', () => {
  let lake: LakeFixture;
  let server: WebhookServer;
  const run = (hour: string): Promise<HourlyEtlResult> =>
    runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(`${hour}:00:00Z`), env: { NETFLOW_SOC_KEY: SECRET } });
  const pendingKeys = async () => {
    const keys: string[] = [];
    for await (const object of lake.store.list(pendingPrefix('soc'))) keys.push(object.key);
    return keys;
  };

  beforeAll(async () => {
    server = new WebhookServer();
    await server.start();
    const base = await createLakeFixture();
    lake = await createLakeFixture({
      store: base.store,
      config: {
        ...base.config,
        alerts: { sinks: [{ type: 'webhook', name: 'soc', url: server.url, secret_env: 'NETFLOW_SOC_KEY', max_attempts: 2, backoff: '10ms', timeout: '2s' }] },
      },
    });
    lake.cleanup = ((cleanupBase, cleanupLake) => async () => {
      await cleanupLake();
      await cleanupBase();
    })(base.cleanup, lake.cleanup);
    await deliverSamples({ store: lake.store });
  });
  afterAll(async () => {
    await server.stop();
    await lake.cleanup();
  });

  it("publishes while the receiver is down and keeps the hour's alerts pending", async () => {
    server.fallback = 'fail';
    const first = await run('2024-05-01T13');
    expect(first.error ?? first.status).toBe('published');
    expect(first.alertDelivery!.soc).toMatchObject({
      delivered: [],
      pending: 4,
      already_delivered: 0,
      error: expect.stringMatching(/^HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/…redacted…: failed by the test server after 2 attempt\(s\)$/),
    });
    expect(server.requests).toHaveLength(2);
    expect(server.accepted()).toEqual([]);
    expect(await pendingKeys()).toEqual(['alerts/_delivery/soc/pending/2024-05-01T13.json']);
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    expect(entries.at(-1)!.alert_delivery).toEqual({ soc: { delivered: [], pending: 4, already_delivered: 0, error: expect.stringContaining('HTTP 500') } });
    expect(entries.at(-1)!.rules_version).toBe('2024-05-01');
  });

  it('delivers the backlog first, then the new hour, once the receiver recovers', async () => {
    server.fallback = 'ok';
    const next = await run('2024-05-01T14');
    expect(next.status).toBe('published');
    expect(next.alertDelivery!.soc).toMatchObject({ pending: 0, error: null });
    expect(next.alertDelivery!.soc!.delivered).toHaveLength(5);
    const [request] = server.accepted();
    expect(server.accepted()).toHaveLength(1);
    const { alerts } = JSON.parse(request!.body) as { alerts: { alert_id: string; hour: string; rule_id: string; sample_flows: unknown[]; rules_version: string }[] };
    expect(alerts.map((a) => `${a.hour} ${a.rule_id}`)).toEqual([
      '2024-05-01T13 no-admin-ports-from-internet',
      '2024-05-01T13 sql-only-from-app-1',
      '2024-05-01T13 datastore-only-from-vms',
      '2024-05-01T13 known-endpoints-only',
      '2024-05-01T14 no-admin-ports-from-internet',
    ]);
    expect(alerts.every((a) => a.sample_flows.length >= 1 && a.rules_version.startsWith('sha256:'))).toBe(true);
    const signature = `sha256=${createHmac('sha256', SECRET).update(`${request!.headers['x-netflow-timestamp']}.${request!.body}`).digest('hex')}`;
    expect(request!.headers['x-netflow-signature']).toBe(signature);
    // The ids sent are the published alerts' ids.
    const published = await queryLake<{ alert_id: string }>(lake, `SELECT alert_id FROM alerts ORDER BY alert_id`);
    expect(alerts.map((a) => a.alert_id).sort()).toEqual(published.map((a) => a.alert_id));
    expect(await pendingKeys()).toEqual([]);
  });

  it('does not notify again on a rerun (backfill) of a delivered hour', async () => {
    const before = server.requests.length;
    const rerun13 = await run('2024-05-01T13');
    expect(rerun13.alertDelivery!.soc).toEqual({ delivered: [], pending: 0, already_delivered: 4, error: null });
    expect(server.requests.length).toBe(before);
  });
});

describe('delivery state with the stdout sink', () => {
  it('filters by severity, writes each alert once and starts again for a new sink name', async () => {
    const lake = await createLakeFixture();
    try {
      const out: string[] = [];
      const logger = createLogger({ level: 'error', write: () => {} });
      const sink = (name: string) => new StdoutSink(stdoutSinkSchema.parse({ type: 'stdout', name, format: 'text', min_severity: 'high' }), (text) => out.push(text));
      const alerts = [alertFixture('a-high'), alertFixture('a-medium', { severity: 'medium' }), alertFixture('a-critical', { severity: 'critical' })];
      const first = await deliverAlerts({ store: lake.store, sinks: [sink('console')], hour: '2024-05-01T13', alerts, logger });
      expect(first.console).toEqual({ delivered: ['a-high', 'a-critical'], pending: 0, already_delivered: 0, error: null });
      expect(out.join('').trim().split('\n')).toEqual([
        expect.stringMatching(/^HIGH no-admin-ports-from-internet: 185\.220\.101\.45 -> 10\.0\.1\.10:22 1 connection\(s\)/),
        expect.stringMatching(/^CRITICAL /),
      ]);
      const second = await deliverAlerts({ store: lake.store, sinks: [sink('console')], hour: '2024-05-01T13', alerts, logger });
      expect(second.console).toEqual({ delivered: [], pending: 0, already_delivered: 2, error: null });
      const renamed = await deliverAlerts({ store: lake.store, sinks: [sink('console-2')], hour: '2024-05-01T13', alerts, logger });
      expect(renamed['console-2']!.delivered).toEqual(['a-high', 'a-critical']);
      expect(
        configSchema.safeParse({
          alerts: {
            sinks: [
              { type: 'stdout', name: 'x' },
              { type: 'stdout', name: 'x' },
            ],
          },
        }).success,
      ).toBe(false);
    } finally {
      await lake.cleanup();
    }
  });
});
