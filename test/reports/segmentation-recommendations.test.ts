import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import { loadRulesFile } from '../../lib/reports/reference-files.ts';
import { testRulesOnHour } from '../../lib/rules/test-rules.ts';
import { recommendationsYaml, recommendSegmentationRules, rulesFileWithRecommendations, type Recommendation } from '../../lib/segmentation/recommend-rules.ts';
import { main } from '../../cli/main.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

/**
 * Recommendations on the sample hours, then applied: the rules file with the recommended rules
 * appended is dry-run with `netflow rules test`'s evaluation and used by a real rerun of the hourly
 * job; the traffic they describe stays conformant, nothing else changes verdict, and recommending
 * again finds nothing left uncovered.
 */
const HOURS = ['2024-05-01T13', '2024-05-01T14'];
const PERIOD = { from: new Date('2024-05-01T13:00:00Z'), to: new Date('2024-05-01T15:00:00Z') };
// Two sample hours hold a few flows per port: these tests are about the rules' shape, not support (segmentation-safety.test.ts is).
const SAMPLE_SUPPORT = { minFlows: 1, minHours: 1, defaultDeny: false };

let lake: LakeFixture;

async function recommend(): Promise<Recommendation[]> {
  const { rules } = await loadRulesFile(lake.config, lake.dir);
  const session = await openLakeSession({ store: lake.store, workDir: path.join(lake.dir, 'work'), memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  try {
    return (await recommendSegmentationRules(session.session, rules, PERIOD, SAMPLE_SUPPORT)).recommendations;
  } finally {
    await session.close();
  }
}

async function dryRun(rulesFile: string) {
  const rules = rulesFileSchema.parse(parse(await readFile(rulesFile, 'utf8')));
  const session = await openLakeSession({ store: lake.store, workDir: path.join(lake.dir, 'work'), memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  try {
    const byRule = new Map<string, { matched: number; violating: number }>();
    for (const hour of HOURS) {
      for (const row of (await testRulesOnHour(session.session, rules.rules, new Date(`${hour}:00:00Z`))).rows) {
        const total = byRule.get(row.rule_id) ?? { matched: 0, violating: 0 };
        byRule.set(row.rule_id, { matched: total.matched + row.matched, violating: total.violating + row.violating });
      }
    }
    return byRule;
  } finally {
    await session.close();
  }
}

beforeAll(async () => {
  lake = await createLakeFixture();
  await deliverSamples({ store: lake.store });
  for (const hour of HOURS) expect((await lake.runHour(hour)).status).toBe('published');
}, 180_000);

afterAll(async () => {
  await lake?.cleanup();
});

describe('segmentation recommendations', () => {
  let recommendations: Recommendation[];
  let appliedRules: string;

  test('cross-segment traffic no allow rule covers becomes allow_only rules, ranked by risk then volume', async () => {
    recommendations = await recommend();
    const summary = recommendations.map((r) => `${r.sources.join('+')} -> ${r.dst_segment} ${r.rule.protocol}/${r.dst_port}`);
    expect(summary).toContain('internet -> web tcp/443');
    expect(summary).toContain('web -> app tcp/8080');
    // Covered by an allow_only rule already (sql-only-from-app-1, datastore-only-from-vms): no recommendation.
    expect(summary.some((line) => line.includes('/1433') || line.includes('/6379'))).toBe(false);
    // Violations (SSH from the internet, app-2 to SQL, batch-1 to the datastore) are never baselined.
    expect(summary.some((line) => line.includes('/22') || line.includes('batch'))).toBe(false);
    expect(recommendations[0]!).toMatchObject({ dst_segment: 'web', dst_port: 443, risk: 3, risk_reasons: ['reached from the internet'] });
    for (let i = 1; i < recommendations.length; i++) {
      const [a, b] = [recommendations[i - 1]!, recommendations[i]!];
      expect(a.risk > b.risk || (a.risk === b.risk && a.bytes >= b.bytes)).toBe(true);
    }
    const web = recommendations.find((r) => r.dst_port === 443 && r.dst_segment === 'web')!;
    expect(web.rule).toMatchObject({ kind: 'allow_only', to: { segment: 'web' }, ports: [443], protocol: 'tcp', action: 'accept', from: [{ internet: true }] });
    expect(web.flows).toBeGreaterThan(0);
    expect(web.sample_flow_ids.length).toBeGreaterThan(0);
  });

  test('the YAML is ready to paste: the rules file with it appended validates', async () => {
    const yaml = recommendationsYaml(recommendations);
    expect(yaml).toMatch(/^ {2}- id: allow-to-web-tcp-443$/m);
    expect(yaml).toContain('    to: { segment: web }\n    ports: [ 443 ]\n');
    expect(yaml).toContain('      - { internet: true }');
    const { text } = await loadRulesFile(lake.config, lake.dir);
    appliedRules = path.join(lake.dir, 'rules-with-recommendations.yaml');
    await writeFile(appliedRules, rulesFileWithRecommendations(text, recommendations));
    const parsed = rulesFileSchema.parse(parse(await readFile(appliedRules, 'utf8')));
    expect(parsed.rules.map((rule) => rule.id)).toEqual([...parse(text).rules.map((rule: { id: string }) => rule.id), ...recommendations.map((r) => r.rule.id)]);
  });

  test('netflow recommend prints the same rules and writes the rules file with them appended', async () => {
    const configFile = path.join(lake.dir, 'netflow.config.yaml');
    await writeFile(configFile, [
      `store: { type: local, path: ${JSON.stringify(path.join(lake.dir, 'lake'))} }`,
      `ledger: { path: ${JSON.stringify(lake.config.ledger.path)} }`,
      `work_dir: ${JSON.stringify(lake.config.work_dir)}`,
      `rules: ${JSON.stringify((await loadRulesFile(lake.config, lake.dir)).file)}`,
      'recommend: { default_deny: false }',
      '',
    ].join('\n'));
    const draft = path.join(lake.dir, 'draft.yaml');
    let stdout = '';
    const code = await main(['recommend', '--from', '2024-05-01T13', '--to', '2024-05-01T14', '--min-flows', '1', '--min-hours', '1', '--write', draft, '--config', configFile], { stdout: (text) => void (stdout += text), stderr: () => {}, cwd: lake.dir, env: {} });
    expect(code).toBe(0);
    expect(stdout).toContain(recommendationsYaml(recommendations));
    expect(stdout).toMatch(/^# allow-to-web-tcp-443: risk 3 \(reached from the internet\), \d+ flow\(s\), \d+ bytes; why: \d+ flow\(s\) in \d+\+ distinct hour\(s\) of tolerated traffic .* from internet$/m);
    expect(await readFile(draft, 'utf8')).toBe(await readFile(appliedRules, 'utf8'));
  });

  test('rules test: the recommended rules match the traffic and nothing violates them; existing rules unchanged', async () => {
    const before = await dryRun((await loadRulesFile(lake.config, lake.dir)).file);
    const after = await dryRun(appliedRules);
    for (const recommendation of recommendations) {
      expect(after.get(recommendation.rule.id)!.matched).toBeGreaterThan(0);
      expect(after.get(recommendation.rule.id)!.violating).toBe(0);
    }
    for (const [ruleId, counts] of before) expect(after.get(ruleId)).toEqual(counts);
  });

  test('the hourly job rerun with the new rules: same verdicts, the recommended traffic conformant, nothing left to recommend', async () => {
    const verdicts = async () => queryLake<{ flow_id: string; verdict: string; violated_rule_ids: string[] }>(lake, `SELECT flow_id, verdict, violated_rule_ids FROM flows ORDER BY flow_id`);
    const old = await verdicts();
    lake.config.rules = appliedRules;
    for (const hour of HOURS) expect((await lake.runHour(hour)).status).toBe('published');
    const fresh = await verdicts();
    expect(fresh).toEqual(old);
    const samples = recommendations.flatMap((r) => r.sample_flow_ids);
    const sampled = fresh.filter((row) => samples.includes(row.flow_id));
    expect(sampled).toHaveLength(samples.length);
    expect(sampled.every((row) => row.verdict === 'conformant')).toBe(true);
    const versions = await queryLake<{ rules_version: string }>(lake, `SELECT DISTINCT rules_version FROM violations`);
    expect(versions.map((row) => row.rules_version)).toEqual([`sha256:${(await loadRulesFile(lake.config, lake.dir)).sha256}`]);
    expect(await recommend()).toEqual([]);
  });
});
