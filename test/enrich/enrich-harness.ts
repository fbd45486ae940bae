import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InventorySnapshot } from '../../schemas/reference/inventory.ts';
import type { IpRange } from '../../schemas/reference/ip-ranges.ts';
import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import type { ThreatEntry } from '../../schemas/reference/threat-lists.ts';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { loadModelFiles, type ModelDefinition } from '../../lib/models/model-definition.ts';
import { ModelRunner } from '../../lib/models/model-runner.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';
import { inventoryEpochs } from '../../lib/reference/load-inventory.ts';
import { installReferenceData, REFERENCE_RELATIONS, type ReferenceData } from '../../lib/reference/reference-data.ts';
import { compileFlowsMart } from '../../lib/rules/compile-rules.ts';

export const SQL_DIR = path.resolve(import.meta.dirname, '..', '..', 'sql');

export interface FlowInput {
  flow_id: string;
  start_at: string;
  src_ip: string;
  dst_ip: string;
  dst_port?: number;
  src_port?: number;
  protocol?: number;
  action?: string | null;
  direction?: string | null;
  interface_id?: string | null;
  /** The rest, for the counting rule's tests (enrich/connection_observations.sql): agent, one second, 1 packet of 100 bytes by default. */
  source_type?: string;
  end_at?: string;
  packets?: number | null;
  bytes?: number | null;
  observer_vm_id?: string | null;
  mac_address?: string | null;
  reporter?: string | null;
  instance_id?: string | null;
  /** The observer's account (a GCP record's reporting project), which names its VM with instance_id. */
  account_id?: string | null;
  counts_in_totals?: boolean;
  /** The destination's answer in the same record (Azure NSG version 2 and VNet tuples); null for one-way records. */
  reverse_packets?: number | null;
  reverse_bytes?: number | null;
}

export function referenceOf(parts: { snapshots?: InventorySnapshot[]; ranges?: IpRange[]; threats?: ThreatEntry[]; rules?: unknown[] }): ReferenceData {
  const inventory = { snapshots: parts.snapshots ?? [] };
  const threats = parts.threats ?? [];
  return {
    inventory,
    epochs: inventoryEpochs(inventory),
    ipRanges: parts.ranges ?? [],
    threats,
    threatListNames: [...new Set(threats.map((t) => t.list))],
    rules: rulesFileSchema.parse({ rules: parts.rules ?? [] }),
    referenceHash: 'test',
    rulesHash: 'test',
  };
}

/**
 * The enrich stage (every sql/enrich model but flows_in_hour, which is given as a table) and the
 * compiled rules, over hand-made flows, in a real locked-down DuckDB session; `marts` adds those
 * sql/marts models (their upstream marts named too: `violations` before `rule_alerts`).
 */
export async function runEnrich(
  flows: readonly FlowInput[],
  reference: ReferenceData,
  hour = '2024-05-01T13:00:00',
  marts: readonly string[] = [],
): Promise<{ session: DuckDbSession; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'netflow-enrich-'));
  const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '512MB', maxTempDirectorySize: '256MB', threads: 2 });
  try {
    for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
    const end = new Date(Date.parse(`${hour}Z`) + 3_600_000).toISOString().replace('Z', '');
    await session.run(`SET VARIABLE hour_start = CAST($1 AS TIMESTAMP)`, [hour]);
    await session.run(`SET VARIABLE hour_end = CAST($1 AS TIMESTAMP)`, [end]);
    await session.run(`SET VARIABLE rules_version = 'test'`);
    await session.run(`SET VARIABLE run_id = 'test'`);
    await installReferenceData(session, dir, reference);
    // As flows_in_hour gives them: whether each address is public, filled in for every flow.
    // Each flow's name is its raw_object_key: the enrich models carry lineage, not flow ids (the
    // flows mart and rule_violations derive those), so tests find their flows by it.
    await session.run(`CREATE TABLE flows_in_hour (community_id VARCHAR, src_ip_is_public BOOLEAN, dst_ip_is_public BOOLEAN, start_at TIMESTAMP, end_at TIMESTAMP, source_type VARCHAR, src_ip VARCHAR, src_port INTEGER, dst_ip VARCHAR,
      dst_port INTEGER, protocol INTEGER, direction VARCHAR, action VARCHAR, packets BIGINT, bytes BIGINT, observer_vm_id VARCHAR, interface_id VARCHAR, raw_object_key VARCHAR, raw_offset BIGINT,
      counts_in_totals BOOLEAN, mac_address VARCHAR, reporter VARCHAR, instance_id VARCHAR, subnet_id VARCHAR, tgw_attachment_id VARCHAR, resource_id VARCHAR, reverse_packets BIGINT, reverse_bytes BIGINT,
      account_id VARCHAR)`);
    // One statement for every flow (a property test inserts hundreds): each row's values numbered from its own offset.
    const values = flows.map((flow, index) => [
      flow.flow_id,
      flow.start_at,
      flow.src_ip,
      flow.src_port ?? 40000,
      flow.dst_ip,
      flow.dst_port ?? 443,
      flow.protocol ?? 6,
      flow.direction ?? null,
      flow.action === undefined ? 'accept' : flow.action,
      flow.interface_id ?? null,
      index + 1,
      flow.end_at ?? null,
      flow.source_type ?? 'agent',
      flow.packets === undefined ? 1 : flow.packets,
      flow.bytes === undefined ? 100 : flow.bytes,
      flow.observer_vm_id ?? null,
      flow.counts_in_totals ?? true,
      flow.mac_address ?? null,
      flow.reporter ?? null,
      flow.instance_id ?? null,
      flow.reverse_packets ?? null,
      flow.reverse_bytes ?? null,
      flow.account_id ?? null,
    ]);
    // The values as given, then one statement applies the macros to all (each macro call is a large expression).
    await session.run(`CREATE TEMP TABLE flow_inputs (name VARCHAR, start_at VARCHAR, src_ip VARCHAR, src_port INTEGER, dst_ip VARCHAR, dst_port INTEGER, protocol INTEGER, direction VARCHAR,
      action VARCHAR, interface_id VARCHAR, raw_offset BIGINT, end_at VARCHAR, source_type VARCHAR, packets BIGINT, bytes BIGINT, observer_vm_id VARCHAR, counts_in_totals BOOLEAN,
      mac_address VARCHAR, reporter VARCHAR, instance_id VARCHAR, reverse_packets BIGINT, reverse_bytes BIGINT, account_id VARCHAR)`);
    const row = (offset: number) => `(${Array.from({ length: 23 }, (_, n) => `$${offset + n + 1}`).join(', ')})`;
    if (flows.length > 0) await session.run(`INSERT INTO flow_inputs VALUES ${values.map((v, index) => row(index * v.length)).join(', ')}`, values.flat());
    await session.run(`INSERT INTO flows_in_hour SELECT NULL, ip_is_public(src_ip), ip_is_public(dst_ip), CAST(start_at AS TIMESTAMP), coalesce(CAST(end_at AS TIMESTAMP), CAST(start_at AS TIMESTAMP) + INTERVAL 1 SECOND),
      source_type, ip_canonical(src_ip), src_port, ip_canonical(dst_ip), dst_port, protocol, direction, action, packets, bytes, observer_vm_id, interface_id, name, raw_offset,
      counts_in_totals, mac_address, reporter, instance_id, NULL, NULL, NULL, reverse_packets, reverse_bytes, account_id FROM flow_inputs`);
    // The enrich models, then the rules as the job checks them: the flows mart (every column the
    // test flows have) and rule_violations read from it.
    const models: ModelDefinition[] = (await loadModelFiles(SQL_DIR)).filter(
      (model) => (model.stage === 'enrich' && model.name !== 'flows_in_hour') || model.name === 'rule_violations' || marts.includes(model.name),
    );
    models.push({
      name: 'flows',
      stage: 'marts',
      origin: 'generated:test',
      grain: 'flow',
      keys: ['flow_id'],
      upstream: ['flows_enriched'],
      materialized: 'table',
      tests: [],
      body: compileFlowsMart(reference.rules.rules, '*'),
    });
    const run = await new ModelRunner(session, createLogger({ level: 'error', write: () => {} })).run(models, new Set(['flows_in_hour', ...REFERENCE_RELATIONS]));
    if (run.error) throw new Error(run.error);
  } catch (error) {
    session.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    session,
    close: async () => {
      session.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
