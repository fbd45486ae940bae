import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';
import { compileFlowsMart } from '../../lib/rules/compile-rules.ts';
import { rulesFileSchema, type Rule } from '../../schemas/reference/rules.ts';

const HOSTILE = [`'; DROP TABLE flows_enriched; --`, `x' OR '1'='1`, `/* comment */`, `a"b`, `$1`, `\\'`, `;`];

describe('rules compile to parameterised SQL with kysely', () => {
  it(`runs kysely ${process.versions.node.startsWith('20.') ? 'on Node 20' : `on Node ${process.versions.node}`}`, async () => {
    const manifest = path.join(path.dirname(fileURLToPath(import.meta.resolve('kysely'))), '..', '..', 'package.json');
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
    expect(version).toMatch(/^0\.28\./);
  });

  it('writes no rule value into the SQL text', () => {
    const rules = rulesFileSchema.parse({
      rules: [
        { id: 'ssh', kind: 'deny', severity: 'high', from: { internet: true }, to: { tag: 'web' }, ports: [22, '2200-2299'], protocol: 'tcp', action: 'accept' },
        { id: 'sql', kind: 'allow_only', severity: 'high', to: { ip: '10.0.3.10' }, ports: [1433], from: [{ vm: 'i-app1' }, { cidr: '10.0.2.0/24' }] },
        { id: 'known', kind: 'require_known', severity: 'low' },
      ],
    }).rules;
    const compiled = compileFlowsMart(rules, '*');
    expect(compiled.sql).toMatchInlineSnapshot(`
      "select * from (
          select
            * replace (coalesce(counted_flow_id, case when counts_in_totals then flow_id end) as counted_flow_id),
            case when len(violated_rule_ids) = 0 then 'conformant' else 'non_conformant' end as verdict,
            getvariable('run_id') as run_id
          from (
            select flow_id_of(source_type, raw_object_key, raw_offset) as flow_id, *, case when coalesce(("src_is_public" and "src_vm_id" is null) and list_contains("dst_tags", $1) and (dst_port = $2 or dst_port between $3 and $4) and protocol = $5 and coalesce(action, 'accept') = $6, false) or coalesce("dst_ip" = ip_canonical($7) and not ("src_vm_id" = $8 or (ip_family("src_ip") = cidr_family($9) and ip_to_uhugeint("src_ip") between cidr_start($10) and cidr_end($11))) and (dst_port = $12), false) or coalesce(((not "src_is_public" and ("src_cidr" is null and "src_vm_id" is null)) or (not "dst_is_public" and ("dst_cidr" is null and "dst_vm_id" is null))), false) then list_sort(list_filter([case when ("src_is_public" and "src_vm_id" is null) and list_contains("dst_tags", $13) and (dst_port = $14 or dst_port between $15 and $16) and protocol = $17 and coalesce(action, 'accept') = $18 then cast($19 as varchar) end, case when "dst_ip" = ip_canonical($20) and not ("src_vm_id" = $21 or (ip_family("src_ip") = cidr_family($22) and ip_to_uhugeint("src_ip") between cidr_start($23) and cidr_end($24))) and (dst_port = $25) then cast($26 as varchar) end, case when ((not "src_is_public" and ("src_cidr" is null and "src_vm_id" is null)) or (not "dst_is_public" and ("dst_cidr" is null and "dst_vm_id" is null))) then cast($27 as varchar) end], rule_id -> rule_id is not null)) else cast([] as varchar[]) end as violated_rule_ids
            from "flows_enriched"
          )
        )"
    `);
    // Each rule's values twice: in the test whether a flow breaks any, then in the list of those it breaks.
    const ssh = ['web', 22, 2200, 2299, 6, 'accept'];
    const sql = ['10.0.3.10', 'i-app1', '10.0.2.0/24', '10.0.2.0/24', '10.0.2.0/24', 1433];
    expect(compiled.parameters).toEqual([...ssh, ...sql, ...ssh, 'ssh', ...sql, 'sql', 'known']);
  });

  describe('hostile strings in every selector are matched as data', () => {
    let dir: string;
    let session: DuckDbSession;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'netflow-rules-'));
      session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '64MB' });
      for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
      // flows_enriched has no flow_id (the marts derive it from the record's lineage): the test's
      // flow names go in raw_object_key, which the queries below read back as the flow.
      await session.run(`CREATE TABLE flows_enriched AS SELECT 'test' AS source_type, flow_id AS raw_object_key, 0 AS raw_offset, true AS counts_in_totals, NULL::VARCHAR AS counted_flow_id, * EXCLUDE (flow_id) FROM (VALUES
        ('f-plain', '10.0.0.1', '10.0.0.2', 443, 6, 'egress', 'accept', 'vm-a', 'vm-b', ['web'], ['db'], 'app', 'data', 'acct-1', 'acct-2', false, false, '10.0.0.0/8', '10.0.0.0/8'),
        ${HOSTILE.map((text, index) => `('f-hostile-${index}', '10.0.1.${index + 1}', '10.0.2.${index + 1}', 443, 6, 'egress', 'accept', ${sqlText(text)}, ${sqlText(text)}, [${sqlText(text)}], [${sqlText(text)}], ${sqlText(text)}, ${sqlText(text)}, ${sqlText(text)}, ${sqlText(text)}, false, false, '10.0.0.0/8', '10.0.0.0/8')`).join(',\n')}
      ) AS t(flow_id, src_ip, dst_ip, dst_port, protocol, direction, action, src_vm_id, dst_vm_id, src_tags, dst_tags, src_segment, dst_segment, src_account_id, dst_account_id, src_is_public, dst_is_public, src_cidr, dst_cidr)`);
    });
    afterAll(async () => {
      session.close();
      await rm(dir, { recursive: true, force: true });
    });

    const selectorsOf = (text: string): Record<string, string>[] => [{ vm: text }, { tag: text }, { segment: text }, { account: text }];
    it.each(HOSTILE.map((text, index) => [text, index] as const))('%s', async (text, index) => {
      const rulesFor = (selector: Record<string, string>): Rule[] =>
        rulesFileSchema.parse({
          rules: [
            { id: 'deny-from', kind: 'deny', severity: 'low', from: selector, to: { any: true } },
            { id: 'deny-to', kind: 'deny', severity: 'low', from: { any: true }, to: selector },
            { id: 'allow-only', kind: 'allow_only', severity: 'low', to: { any: true }, from: [selector] },
          ],
        }).rules;
      for (const [position, selector] of selectorsOf(text).entries()) {
        const compiled = compileFlowsMart(rulesFor(selector), '*');
        // The SQL text does not depend on the value at all: it is the same as for a harmless one.
        expect(compiled.sql).toBe(compileFlowsMart(rulesFor(selectorsOf('harmless')[position]!), '*').sql);
        const rows = await session.execute<{ flow_id: string; rule_id: string }>({
          sql: `SELECT raw_object_key AS flow_id, unnest(violated_rule_ids) AS rule_id FROM (${compiled.sql}) ORDER BY rule_id, flow_id`,
          parameters: compiled.parameters,
        });
        const others = ['f-plain', ...HOSTILE.map((_t, i) => `f-hostile-${i}`).filter((id) => id !== `f-hostile-${index}`)];
        expect(rows, JSON.stringify(selector)).toEqual([
          ...others.map((flow_id) => ({ flow_id, rule_id: 'allow-only' })).sort((a, b) => a.flow_id.localeCompare(b.flow_id)),
          { flow_id: `f-hostile-${index}`, rule_id: 'deny-from' },
          { flow_id: `f-hostile-${index}`, rule_id: 'deny-to' },
        ]);
      }
      expect((await session.all(`SELECT count(*) AS n FROM flows_enriched`))[0]).toEqual({ n: BigInt(HOSTILE.length + 1) });
    });
  });
});

function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
