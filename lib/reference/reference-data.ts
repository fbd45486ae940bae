import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inventorySchema, type Inventory } from '../../schemas/reference/inventory.ts';
import { ipRangesSchema, type IpRanges } from '../../schemas/reference/ip-ranges.ts';
import { rulesFileSchema, type RulesFile } from '../../schemas/reference/rules.ts';
import { sqlString, type DuckDbSession } from '../duckdb/duckdb-session.ts';
import { readYamlFile } from '../config/yaml-file.ts';

export interface ReferenceFiles {
  inventory: string;
  ipRanges: string;
  rules: string;
}

export interface ReferenceData {
  inventory: Inventory;
  ipRanges: IpRanges;
  rules: RulesFile;
  /** SHA-256 of the reference files' bytes, in a fixed order. */
  referenceHash: string;
  /** SHA-256 of the rules file's bytes: the rules version recorded on every violation. */
  rulesHash: string;
}

/** Reads and validates the reference files; errors name the file, line and key. */
export async function loadReferenceData(files: ReferenceFiles): Promise<ReferenceData> {
  const [inventory, ipRanges, rules] = await Promise.all([
    readYamlFile(files.inventory, inventorySchema),
    readYamlFile(files.ipRanges, ipRangesSchema),
    readYamlFile(files.rules, rulesFileSchema),
  ]);
  const referenceHash = createHash('sha256');
  for (const file of [files.inventory, files.ipRanges]) referenceHash.update(await readFile(file)).update('\0');
  const rulesHash = createHash('sha256').update(await readFile(files.rules)).digest('hex');
  return { inventory, ipRanges, rules, referenceHash: referenceHash.digest('hex'), rulesHash };
}

/** The relations reference data provides to the models (see sql/enrich and sql/marts). */
export const REFERENCE_RELATIONS = ['ref_vms', 'ref_vm_addresses', 'ref_ip_ranges', 'ref_rules'] as const;

/**
 * Loads reference data into the session as tables. Rows go through NDJSON files in the work
 * directory, which DuckDB reads in one pass; addresses are canonicalized by the same SQL macros
 * the flows go through, so joins compare like with like.
 */
export async function installReferenceData(session: DuckDbSession, workDir: string, reference: ReferenceData): Promise<void> {
  const vms = reference.inventory.vms.map((vm) => ({
    vm_id: vm.vm_id,
    vm_name: vm.vm_name,
    account_id: vm.account_id,
    region: vm.region ?? null,
    sku: vm.sku ?? null,
    capacity_mbps: vm.capacity_mbps ?? null,
    owner_team: vm.owner_team ?? null,
    segment: vm.segment,
    tags: [...new Set(vm.tags)].sort(),
  }));
  const addresses = reference.inventory.vms.flatMap((vm) =>
    vm.interfaces.flatMap((nic) => nic.private_ips.map((ip) => ({ vm_id: vm.vm_id, interface_id: nic.interface_id, mac: nic.mac ?? null, ip }))),
  );
  const ranges = reference.ipRanges.ranges.map((range) => ({
    cidr: range.cidr.includes('/') ? range.cidr : `${range.cidr}/${range.cidr.includes(':') ? 128 : 32}`,
    range_name: range.name,
    tags: [...new Set(range.tags)].sort(),
    segment: range.segment ?? null,
  }));
  const rules = reference.rules.rules.map((rule) => ({
    rule_id: rule.id,
    kind: rule.kind,
    severity: rule.severity,
    description: rule.description,
    owner: rule.owner ?? null,
  }));

  await session.run(`CREATE OR REPLACE TABLE ref_vms AS SELECT * FROM ${await ndjson(workDir, 'ref_vms', vms, {
    vm_id: 'VARCHAR', vm_name: 'VARCHAR', account_id: 'VARCHAR', region: 'VARCHAR', sku: 'VARCHAR',
    capacity_mbps: 'DOUBLE', owner_team: 'VARCHAR', segment: 'VARCHAR', tags: 'VARCHAR[]',
  })}`);
  await session.run(`CREATE OR REPLACE TABLE ref_vm_addresses AS
    SELECT vm_id, interface_id, mac, ip_canonical(ip) AS ip
    FROM ${await ndjson(workDir, 'ref_vm_addresses', addresses, { vm_id: 'VARCHAR', interface_id: 'VARCHAR', mac: 'VARCHAR', ip: 'VARCHAR' })}`);
  await session.run(`CREATE OR REPLACE TABLE ref_ip_ranges AS
    SELECT cidr, range_name, tags, segment, cidr_family(cidr) AS family, cidr_prefix_len(cidr) AS prefix_len,
           network_key(cidr_start(cidr), cidr_family(cidr), cidr_prefix_len(cidr)) AS network
    FROM ${await ndjson(workDir, 'ref_ip_ranges', ranges, { cidr: 'VARCHAR', range_name: 'VARCHAR', tags: 'VARCHAR[]', segment: 'VARCHAR' })}`);
  await session.run(`CREATE OR REPLACE TABLE ref_rules AS SELECT * FROM ${await ndjson(workDir, 'ref_rules', rules, {
    rule_id: 'VARCHAR', kind: 'VARCHAR', severity: 'VARCHAR', description: 'VARCHAR', owner: 'VARCHAR',
  })}`);
}

/** Writes rows as NDJSON and returns a read_json call with explicit column types. */
export async function ndjson(workDir: string, name: string, rows: readonly object[], columns: Record<string, string>): Promise<string> {
  const file = path.join(workDir, `${name}.ndjson`);
  await writeFile(file, rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length ? '\n' : ''));
  const columnSpec = Object.entries(columns).map(([column, type]) => `${sqlString(column)}: ${sqlString(type)}`).join(', ');
  return `read_json(${sqlString(file)}, format = 'newline_delimited', columns = {${columnSpec}})`;
}
