import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';
import { compileFlowsMart, compileRuleEvaluation } from '../../lib/rules/compile-rules.ts';
import { rulesFileSchema, type Rule } from '../../schemas/reference/rules.ts';

/** Quotes, semicolons, comment markers, placeholders and backslashes through the selectors of exceptions and threat lists. */
const HOSTILE = [`'; DROP TABLE flows_enriched; --`, `x' OR '1'='1`, `/* comment */`, `a"b`, `$1`, `\\'`, `;`, `--`, `') OR true; --`];

const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;

describe('hostile strings in exceptions, threat lists and rule ids are matched as data', () => {
  let dir: string;
  let session: DuckDbSession;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-hostile-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '64MB' });
    for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
    const rows = HOSTILE.map(
      (text, index) =>
        `('f-${index}', TIMESTAMP '2024-05-01 13:00:00', '10.0.1.${index + 1}', '10.0.2.${index + 1}', 443, 6, 'egress', 'accept', ${sqlText(text)}, ${sqlText(text)}, [${sqlText(text)}], [${sqlText(text)}], ${sqlText(text)}, ${sqlText(text)}, ${sqlText(text)}, ${sqlText(text)}, false, false, '10.0.0.0/8', '10.0.0.0/8', [${sqlText(text)}], CAST([] AS VARCHAR[]))`,
    );
    // flows_enriched has no flow_id (the marts derive it from the record's lineage): the test's
    // flow names go in raw_object_key, which the queries below read back as the flow.
    await session.run(`CREATE TABLE flows_enriched AS SELECT 'test' AS source_type, flow_id AS raw_object_key, 0 AS raw_offset, true AS counts_in_totals, NULL::VARCHAR AS counted_flow_id, * EXCLUDE (flow_id) FROM (VALUES
      ('f-plain', TIMESTAMP '2024-05-01 13:00:00', '10.0.0.1', '10.0.0.2', 443, 6, 'egress', 'accept', 'vm-a', 'vm-b', ['web'], ['db'], 'app', 'data', 'acct-1', 'acct-2', false, false, '10.0.0.0/8', '10.0.0.0/8', CAST([] AS VARCHAR[]), CAST([] AS VARCHAR[])),
      ${rows.join(',\n')}
    ) AS t(flow_id, start_at, src_ip, dst_ip, dst_port, protocol, direction, action, src_vm_id, dst_vm_id, src_tags, dst_tags, src_segment, dst_segment, src_account_id, dst_account_id, src_is_public, dst_is_public, src_cidr, dst_cidr, src_threat_lists, dst_threat_lists)`);
  });
  afterAll(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  const rulesFor = (text: string, selector: Record<string, string>): Rule[] =>
    rulesFileSchema.parse({
      rules: [
        // Everything is denied except what the hostile exception names, until an expiry after the flows.
        { id: 'deny-all-but', kind: 'deny', severity: 'low', from: { any: true }, to: { any: true }, exceptions: [{ reason: text, expires: '2030-01-01T00:00:00Z', from: selector }] },
        { id: 'threat-list', kind: 'threat', severity: 'low', lists: [text] },
      ],
    }).rules;

  it.each(HOSTILE.map((text, index) => [text, index] as const))('%s', async (text, index) => {
    for (const kind of ['vm', 'tag', 'segment', 'account'] as const) {
      const compiled = compileFlowsMart(rulesFor(text, { [kind]: text }), '*');
      expect(compiled.sql).toBe(compileFlowsMart(rulesFor('harmless', { [kind]: 'harmless' }), '*').sql);
      expect(compiled.parameters).toContain(text);
      const rows = await session.execute<{ flow_id: string; rule_id: string }>({
        sql: `SELECT raw_object_key AS flow_id, unnest(violated_rule_ids) AS rule_id FROM (${compiled.sql}) ORDER BY rule_id, flow_id`,
        parameters: compiled.parameters,
      });
      const excused = `f-${index}`;
      expect(rows, kind).toEqual([
        ...['f-plain', ...HOSTILE.map((_t, i) => `f-${i}`)]
          .filter((id) => id !== excused)
          .sort()
          .map((flow_id) => ({ flow_id, rule_id: 'deny-all-but' })),
        { flow_id: excused, rule_id: 'threat-list' },
      ]);
      const evaluation = compileRuleEvaluation(rulesFor(text, { [kind]: text }));
      const [deny] = await session.execute<{ matched: bigint; excused: bigint; violating: bigint }>(evaluation);
      expect(deny).toMatchObject({ rule_id: 'deny-all-but', matched: BigInt(HOSTILE.length + 1), excused: 1n, violating: BigInt(HOSTILE.length) });
    }
    expect((await session.all(`SELECT count(*) AS n FROM flows_enriched`))[0]).toEqual({ n: BigInt(HOSTILE.length + 1) });
  });

  it('refuses hostile text where an address, a CIDR, a time or a rule id is expected', () => {
    for (const text of HOSTILE) {
      for (const rule of [
        { id: 'r', kind: 'deny', severity: 'low', from: { ip: text }, to: { any: true } },
        { id: 'r', kind: 'deny', severity: 'low', from: { cidr: text }, to: { any: true } },
        { id: 'r', kind: 'deny', severity: 'low', from: { any: true }, to: { any: true }, exceptions: [{ reason: 'x', expires: text }] },
        { id: text, kind: 'require_known', severity: 'low' },
      ]) {
        expect(rulesFileSchema.safeParse({ rules: [rule] }).success, JSON.stringify(rule)).toBe(false);
      }
    }
  });
});
