import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHourlyAnalytics } from '../../jobs/hourly-analytics.ts';
import { main } from '../../cli/main.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import { loadRulesFile } from '../../lib/reports/reference-files.ts';
import { evaluateRecommendations, type FlaggedTraffic } from '../../lib/segmentation/evaluate-recommendations.ts';
import { DEFAULT_RECOMMEND_OPTIONS, recommendationsYaml, recommendSegmentationRules, type RecommendedSet } from '../../lib/segmentation/recommend-rules.ts';
import { publishGeneratedFlows, type GeneratedFlow } from '../anomalies/support/flow-lake.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';

/**
 * Recommendations over two days of steady traffic with attacks in them: an insider's vertical
 * scan of 100 ports, repeated four times an hour for three hours (enough support to pass as a
 * service), an SMB sweep, and SSH from a management host (a high-risk port). None may become an
 * allow rule. The recommended set, with its default denies, is then evaluated on a third day with
 * a new port and a new source segment: both flagged, by the API and by `netflow recommend
 * --evaluate-on`.
 */
const FIRST = Date.parse('2024-06-01T00:00:00Z');
const LEARN = { from: new Date(FIRST), to: new Date(FIRST + 48 * 3_600_000) };
const LATER = { from: new Date(FIRST + 48 * 3_600_000), to: new Date(FIRST + 56 * 3_600_000) };
const SCANNER = '10.0.2.13';
const SWEEPER = '10.0.2.14';

const host = (ip: string, name: string, segment: string) => ({ ip, name, segment });
const INTERNET = host('81.2.69.160', '', 'internet');
const WEB = host('10.0.1.11', 'web-1', 'web');
const APP = host('10.0.2.11', 'app-1', 'app');
const APP2 = host('10.0.2.12', 'app-2', 'app');
const DATA = host('10.0.3.11', 'data-1', 'data');
const DATA2 = host('10.0.3.12', 'data-2', 'data');
const MGMT = host('10.0.9.10', 'mgmt-1', 'mgmt');
const BATCH = host('10.0.5.11', 'batch-1', 'batch');

let sequence = 0;
function flow(hour: number, minute: number, src: ReturnType<typeof host>, dst: ReturnType<typeof host>, port: number, bytes = 5_000): GeneratedFlow {
  const start = FIRST + hour * 3_600_000 + minute * 60_000 + (sequence++ % 50) * 1000;
  const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '');
  const side = (prefix: 'src' | 'dst', end: ReturnType<typeof host>) =>
    end.segment === 'internet'
      ? { [`${prefix}_vm_id`]: null, [`${prefix}_vm_name`]: null, [`${prefix}_segment`]: 'internet', [`${prefix}_is_public`]: true }
      : { [`${prefix}_vm_id`]: end.name ? `i-${end.name}` : null, [`${prefix}_vm_name`]: end.name || null, [`${prefix}_segment`]: end.segment, [`${prefix}_is_public`]: false };
  return { start_at: iso(start), end_at: iso(start + 2_000), src_ip: src.ip, src_port: 40_000 + (sequence % 20_000), dst_ip: dst.ip, dst_port: port, protocol: 6, bytes, ...side('src', src), ...side('dst', dst) };
}

function steadyHour(hour: number): GeneratedFlow[] {
  return [
    ...[0, 20, 40].map((m) => flow(hour, m, INTERNET, WEB, 443)),
    ...[5, 20, 35, 50].map((m) => flow(hour, m, WEB, APP, 8080)),
    ...[6, 21, 36, 51].map((m) => flow(hour, m, APP, DATA, 5432)),
    // A service on four contiguous ports: one rule with a range.
    ...[8000, 8001, 8002, 8003].map((port) => flow(hour, 10, APP, DATA, port)),
    flow(hour, 12, MGMT, WEB, 22),
    flow(hour, 14, APP, APP2, 7000),
  ];
}

let lake: LakeFixture;
let set: RecommendedSet;
let flagged: FlaggedTraffic[];

beforeAll(async () => {
  lake = await createLakeFixture();
  const flows: GeneratedFlow[] = [];
  for (let hour = 0; hour < 56; hour++) flows.push(...steadyHour(hour));
  // The insider's scan: ports 1000-1099 of data-2, four probes each an hour, three hours, accepted.
  for (const hour of [30, 31, 32]) for (let probe = 0; probe < 4; probe++) for (let port = 1000; port < 1100; port++) flows.push(flow(hour, 2 + probe * 4, host(SCANNER, 'app-3', 'app'), DATA2, port, 60));
  // The SMB sweep: 80 hosts of the data segment on 445.
  for (let n = 0; n < 80; n++) flows.push(flow(33, 30 + Math.floor(n / 40), host(SWEEPER, 'app-4', 'app'), host(`10.0.3.${100 + n}`, '', 'data'), 445, 60));
  // The later day: a new port on data-1, and batch-1 (a segment never seen) reaching the app tier.
  for (const hour of [50, 51, 52]) {
    flows.push(...[3, 33].map((m) => flow(hour, m, APP, DATA, 9999)));
    const batchToApp = [7, 37].map((m) => flow(hour, m, BATCH, APP, 8080));
    // app-1's ENI flow log reports them too: each connection is flagged once, not per observer.
    flows.push(...batchToApp, ...batchToApp.map((f) => ({ ...f, source_type: 'aws_vpc', counts_in_totals: false })));
  }
  await publishGeneratedFlows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, flows });
  const analytics = await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date(FIRST + 30 * 3_600_000), to: new Date(FIRST + 34 * 3_600_000), alertSinks: [] });
  expect(analytics.error).toBeUndefined();
  expect(analytics.hours.map((h) => h.anomalies)).toEqual([1, 1, 1, 1]);
  const { rules } = await loadRulesFile(lake.config, lake.dir);
  const session = await openLakeSession({ store: lake.store, workDir: path.join(lake.dir, 'work'), memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  try {
    set = await recommendSegmentationRules(session.session, rules, LEARN, DEFAULT_RECOMMEND_OPTIONS);
    flagged = await evaluateRecommendations(session.session, [...set.recommendations, ...set.default_denies].map((r) => r.rule), LATER);
  } finally {
    await session.close();
  }
}, 240_000);

afterAll(async () => {
  await lake?.cleanup();
});

describe('segmentation recommendations learn only from safe traffic', () => {
  test('the steady services are recommended, contiguous ports as one range, each with its support and why', () => {
    expect(set.recommendations.map((r) => `${r.sources.join('+')} -> ${r.dst_segment} ${r.rule.protocol}/${r.dst_ports.join(',')}`).sort()).toEqual([
      'app -> data tcp/5432',
      'app -> data tcp/8000-8003',
      'internet -> web tcp/443',
      'web -> app tcp/8080',
    ]);
    const range = set.recommendations.find((r) => r.dst_ports[0] === '8000-8003')!;
    expect(range).toMatchObject({ rule: { id: 'allow-to-data-tcp-8000-8003', ports: ['8000-8003'] }, flows: 4 * 48, hours: 48 });
    expect(range.why).toBe('192 flow(s) in 48+ distinct hour(s) of tolerated traffic (accepted, conformant, no anomaly, no threat list) from app');
    expect(range.rule.description).toContain('support 192 flow(s) in 48+ hour(s)');
  });

  test('no rule for the scan, the sweep or SSH; SSH and the sweep are named as high-risk', () => {
    const ports = set.recommendations.flatMap((r) => r.dst_ports);
    expect(ports.some((port) => typeof port === 'number' && port >= 1000 && port < 1100)).toBe(false);
    expect(ports).not.toContain(445);
    expect(ports).not.toContain(22);
    expect(set.skipped).toEqual(expect.arrayContaining([
      { dst_segment: 'web', dst_port: 22, reason: 'high-risk port (ssh): recommended only with --allow-high-risk' },
    ]));
    // The scanner's probes had support (12 flows a port in 3 hours): only its anomalies kept them out, so they are not even candidates.
    expect(set.skipped.filter((s) => s.dst_port >= 1000 && s.dst_port < 1100)).toEqual([]);
  });

  test('a default deny per segment, last, leaving open the allowed ports and the segment\'s own', () => {
    expect(set.default_denies.map((d) => d.rule.id)).toEqual(['default-deny-to-app-tcp', 'default-deny-to-app-udp', 'default-deny-to-data-tcp', 'default-deny-to-data-udp', 'default-deny-to-web-tcp', 'default-deny-to-web-udp']);
    const app = set.default_denies.find((d) => d.rule.id === 'default-deny-to-app-tcp')!;
    expect(app.open_ports).toEqual([7000, 8080]);
    expect(app.rule).toMatchObject({ kind: 'deny', from: { any: true }, to: { segment: 'app' }, protocol: 'tcp', ports: ['0-6999', '7001-8079', '8081-32767'] });
    const yaml = recommendationsYaml(set.recommendations, set.default_denies);
    expect(yaml.indexOf('default-deny-to-app-tcp')).toBeGreaterThan(yaml.lastIndexOf('- id: allow-to-'));
  });

  test('on a later day the set flags the new port and the new source segment, nothing else', () => {
    expect(flagged.map((f) => [f.reason, f.src, f.dst_segment, f.dst_port, f.flows, f.rule_id])).toEqual([
      // SSH from mgmt was never allowed (high-risk): the set flags it as soon as it is adopted.
      ['new port', 'mgmt', 'web', 22, 8, 'default-deny-to-web-tcp'],
      ['new source', 'batch', 'app', 8080, 6, 'allow-to-app-tcp-8080'],
      ['new port', 'app', 'data', 9999, 6, 'default-deny-to-data-tcp'],
    ]);
  });

  test('netflow recommend --evaluate-on reports them', async () => {
    const configFile = path.join(lake.dir, 'netflow.config.yaml');
    await writeFile(configFile, [`store: { type: local, path: ${JSON.stringify(path.join(lake.dir, 'lake'))} }`, `ledger: { path: ${JSON.stringify(lake.config.ledger.path)} }`, `work_dir: ${JSON.stringify(lake.config.work_dir)}`, `rules: ${JSON.stringify(lake.config.rules)}`, ''].join('\n'));
    let stdout = '';
    const code = await main(['recommend', '--from', '2024-06-01', '--to', '2024-06-02', '--evaluate-on', '2024-06-03T00..2024-06-03T07', '--config', configFile], { stdout: (text) => void (stdout += text), stderr: () => {}, cwd: lake.dir, env: {} });
    expect(code).toBe(0);
    expect(stdout).toContain('# evaluated on 2024-06-03T00..2024-06-03T08: the recommended set would have flagged 20 flow(s) in 3 group(s)');
    expect(stdout).toMatch(/^# {3}new port: app -> data 6\/9999: 6 flow\(s\) by default-deny-to-data-tcp, first 2024-06-03T02:03:/m);
    expect(stdout).toMatch(/^# {3}new source: batch -> app 6\/8080: 6 flow\(s\) by allow-to-app-tcp-8080/m);
    expect(stdout).toContain('# not recommended: web port 22: high-risk port (ssh): recommended only with --allow-high-risk');
  });
});
