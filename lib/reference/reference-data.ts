import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../schemas/config.ts';
import type { InventoryHistory } from '../../schemas/reference/inventory.ts';
import type { IpRange } from '../../schemas/reference/ip-ranges.ts';
import { rulesFileSchema, type RulesFile } from '../../schemas/reference/rules.ts';
import type { ThreatEntry } from '../../schemas/reference/threat-lists.ts';
import { resolveConfigPath } from '../config/load-config.ts';
import { readYamlFile, ValidationError } from '../config/yaml-file.ts';
import { sqlString, type DuckDbSession } from '../duckdb/duckdb-session.ts';
import { inventoryEpochs, loadInventoryHistory, type InventoryEpoch } from './load-inventory.ts';
import { loadIpRanges, type RangeSource } from './load-ip-ranges.ts';
import { loadThreatLists, type ThreatListSource } from './load-threat-lists.ts';
import { ndjsonLines } from '../format/text-cells.ts';

/** Every reference file of a run, paths resolved. */
export interface ReferenceFiles {
  inventory: readonly string[];
  ipRanges: readonly RangeSource[];
  threatLists: readonly ThreatListSource[];
  rules: string;
}

export interface ReferenceData {
  inventory: InventoryHistory;
  /** Periods with one inventory snapshot in force, covering all time. */
  epochs: InventoryEpoch[];
  ipRanges: IpRange[];
  threats: ThreatEntry[];
  threatListNames: string[];
  rules: RulesFile;
  /** SHA-256 over the reference files' bytes and how they are read, in a fixed order. */
  referenceHash: string;
  /** SHA-256 of the rules file's bytes: the rules version recorded on every violation. */
  rulesHash: string;
}

/** The reference files named by a configuration, resolved against its folder. */
export function referenceFilesOf(config: Config, baseDir: string): ReferenceFiles {
  const inventory = Array.isArray(config.reference.inventory) ? config.reference.inventory : [config.reference.inventory];
  const ranges = Array.isArray(config.reference.ip_ranges) ? config.reference.ip_ranges : [config.reference.ip_ranges];
  return {
    inventory: inventory.map((file) => resolveConfigPath(baseDir, file)),
    ipRanges: ranges.map((source) =>
      typeof source === 'string' ? { path: resolveConfigPath(baseDir, source) } : { path: resolveConfigPath(baseDir, source.path), format: source.format, segment: source.segment, tags: source.tags },
    ),
    threatLists: config.reference.threat_lists.map((list) => ({ ...list, path: resolveConfigPath(baseDir, list.path) })),
    rules: resolveConfigPath(baseDir, config.rules),
  };
}

/** Problems between files: a threat rule naming a list that is not configured. */
export function crossCheckRules(rules: RulesFile, threatListNames: readonly string[]): string[] {
  const known = new Set(threatListNames);
  const problems: string[] = [];
  rules.rules.forEach((rule, index) => {
    if (rule.kind !== 'threat') return;
    for (const name of rule.lists ?? []) {
      if (!known.has(name)) problems.push(`rules.${index}.lists: rule "${rule.id}" names threat list "${name}", which is not configured (configured: ${threatListNames.join(', ') || 'none'})`);
    }
  });
  return problems;
}

/** Reads and validates every reference file; errors name the file, line and key. */
export async function loadReferenceData(files: ReferenceFiles): Promise<ReferenceData> {
  const [inventory, ipRanges, threats, rules] = await Promise.all([
    loadInventoryHistory(files.inventory),
    loadIpRanges(files.ipRanges),
    loadThreatLists(files.threatLists),
    readYamlFile(files.rules, rulesFileSchema),
  ]);
  const threatListNames = files.threatLists.map((list) => list.name);
  const problems = crossCheckRules(rules, threatListNames);
  if (problems.length > 0) throw new ValidationError(files.rules, problems);
  return {
    inventory,
    epochs: inventoryEpochs(inventory),
    ipRanges,
    threats,
    threatListNames,
    rules,
    referenceHash: await referenceHashOf(files),
    rulesHash: createHash('sha256')
      .update(await readFile(files.rules))
      .digest('hex'),
  };
}

async function referenceHashOf(files: ReferenceFiles): Promise<string> {
  const hash = createHash('sha256');
  const add = async (label: string, file: string) =>
    hash
      .update(`${label}\0`)
      .update(await readFile(file))
      .update('\0');
  for (const file of files.inventory) await add('inventory', file);
  for (const source of files.ipRanges) await add(`ranges ${JSON.stringify({ format: source.format, segment: source.segment, tags: source.tags })}`, source.path);
  for (const list of files.threatLists) await add(`threats ${JSON.stringify({ name: list.name, format: list.format, column: list.column, delimiter: list.delimiter })}`, list.path);
  return hash.digest('hex');
}

/** The relations reference data provides to the models (see sql/enrich and sql/marts). */
export const REFERENCE_RELATIONS = [
  'ref_inventory_epochs',
  'ref_vm_snapshots',
  'ref_vm_address_snapshots',
  'ref_vms',
  'ref_vm_addresses',
  'ref_ip_ranges',
  'ref_ip_networks',
  'ref_threat_entries',
  'ref_rules',
] as const;

const timestamp = (date: Date) => date.toISOString().replace('Z', '');

/**
 * Loads reference data into the session as tables. Rows go through NDJSON files in the work
 * directory, which DuckDB reads in one pass; addresses are canonicalized by the same SQL macros
 * the flows go through, so joins compare like with like.
 *
 * The inventory is loaded per epoch (`ref_vm_snapshots`, `ref_vm_address_snapshots`); `ref_vms`
 * and `ref_vm_addresses` are the latest snapshot, for reports that want the current inventory.
 */
export async function installReferenceData(session: DuckDbSession, workDir: string, reference: ReferenceData): Promise<void> {
  const epochs = reference.epochs.map((epoch) => ({
    epoch: epoch.epoch,
    valid_from: timestamp(epoch.validFrom),
    valid_to: timestamp(epoch.validTo),
    snapshot_at: epoch.snapshot?.snapshot_at ? timestamp(new Date(epoch.snapshot.snapshot_at)) : null,
  }));
  const vms = reference.epochs.flatMap((epoch) =>
    (epoch.snapshot?.vms ?? []).map((vm) => ({
      epoch: epoch.epoch,
      vm_id: vm.vm_id,
      vm_name: vm.vm_name,
      account_id: vm.account_id,
      region: vm.region ?? null,
      sku: vm.sku ?? null,
      capacity_mbps: vm.capacity_mbps ?? null,
      owner_team: vm.owner_team ?? null,
      segment: vm.segment,
      tags: [...new Set(vm.tags)].sort(),
    })),
  );
  const addresses = reference.epochs.flatMap((epoch) =>
    (epoch.snapshot?.vms ?? []).flatMap((vm) =>
      vm.interfaces.flatMap((nic) => nic.private_ips.map((ip) => ({ epoch: epoch.epoch, vm_id: vm.vm_id, interface_id: nic.interface_id, mac: nic.mac ?? null, ip }))),
    ),
  );
  const ranges = reference.ipRanges.map((range) => ({
    cidr: hostCidr(range.cidr),
    range_name: range.name,
    tags: [...new Set(range.tags)].sort(),
    segment: range.segment ?? null,
  }));
  const threats = reference.threats.map((entry) => ({ list_name: entry.list, cidr: hostCidr(entry.cidr) }));
  const rules = reference.rules.rules.map((rule) => ({
    rule_id: rule.id,
    kind: rule.kind,
    severity: rule.severity,
    description: rule.description,
    owner: rule.owner ?? null,
  }));
  const latest = Math.max(...reference.epochs.map((epoch) => epoch.epoch));

  await session.run(
    `CREATE OR REPLACE TABLE ref_inventory_epochs AS SELECT * FROM ${await ndjson(workDir, 'ref_inventory_epochs', epochs, {
      epoch: 'INTEGER',
      valid_from: 'TIMESTAMP',
      valid_to: 'TIMESTAMP',
      snapshot_at: 'TIMESTAMP',
    })}`,
  );
  await session.run(
    `CREATE OR REPLACE TABLE ref_vm_snapshots AS SELECT * FROM ${await ndjson(workDir, 'ref_vm_snapshots', vms, {
      epoch: 'INTEGER',
      vm_id: 'VARCHAR',
      vm_name: 'VARCHAR',
      account_id: 'VARCHAR',
      region: 'VARCHAR',
      sku: 'VARCHAR',
      capacity_mbps: 'DOUBLE',
      owner_team: 'VARCHAR',
      segment: 'VARCHAR',
      tags: 'VARCHAR[]',
    })}`,
  );
  await session.run(`CREATE OR REPLACE TABLE ref_vm_address_snapshots AS
    SELECT epoch, vm_id, interface_id, mac, ip_canonical(ip) AS ip
    FROM ${await ndjson(workDir, 'ref_vm_address_snapshots', addresses, { epoch: 'INTEGER', vm_id: 'VARCHAR', interface_id: 'VARCHAR', mac: 'VARCHAR', ip: 'VARCHAR' })}`);
  await session.run(`CREATE OR REPLACE TABLE ref_vms AS SELECT * EXCLUDE (epoch) FROM ref_vm_snapshots WHERE epoch = ${latest}`);
  await session.run(`CREATE OR REPLACE TABLE ref_vm_addresses AS SELECT * EXCLUDE (epoch) FROM ref_vm_address_snapshots WHERE epoch = ${latest}`);
  await session.run(`CREATE OR REPLACE TABLE ref_ip_ranges AS
    SELECT cidr, range_name, tags, segment, cidr_family(cidr) AS family, cidr_prefix_len(cidr) AS prefix_len,
           network_key(cidr_start(cidr), cidr_family(cidr), cidr_prefix_len(cidr)) AS network
    FROM ${await ndjson(workDir, 'ref_ip_ranges', ranges, { cidr: 'VARCHAR', range_name: 'VARCHAR', tags: 'VARCHAR[]', segment: 'VARCHAR' })}`);
  // One row per network and prefix length: several ranges with the same network (files that
  // overlap, duplicates) would multiply the matches of every address inside it. Ties go to the
  // first range name, as before.
  await session.run(`CREATE OR REPLACE TABLE ref_ip_networks AS
    SELECT DISTINCT ON (family, prefix_len, network) family, prefix_len, network, cidr, range_name, tags, segment
    FROM ref_ip_ranges
    ORDER BY family, prefix_len, network, range_name, cidr`);
  await session.run(`CREATE OR REPLACE TABLE ref_threat_entries AS
    SELECT list_name, family, prefix_len, network, min(cidr) AS cidr
    FROM (
      SELECT list_name, cidr, cidr_family(cidr) AS family, cidr_prefix_len(cidr) AS prefix_len,
             network_key(cidr_start(cidr), cidr_family(cidr), cidr_prefix_len(cidr)) AS network
      FROM ${await ndjson(workDir, 'ref_threat_entries', threats, { list_name: 'VARCHAR', cidr: 'VARCHAR' })}
    )
    GROUP BY list_name, family, prefix_len, network`);
  await session.run(
    `CREATE OR REPLACE TABLE ref_rules AS SELECT * FROM ${await ndjson(workDir, 'ref_rules', rules, {
      rule_id: 'VARCHAR',
      kind: 'VARCHAR',
      severity: 'VARCHAR',
      description: 'VARCHAR',
      owner: 'VARCHAR',
    })}`,
  );
}

/** An address alone is its /32 or /128. */
function hostCidr(cidr: string): string {
  return cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`;
}

/** Writes rows as NDJSON and returns a read_json call with explicit column types. */
export async function ndjson(workDir: string, name: string, rows: readonly object[], columns: Record<string, string>): Promise<string> {
  const file = path.join(workDir, `${name}.ndjson`);
  await writeFile(file, ndjsonLines(rows));
  const columnSpec = Object.entries(columns)
    .map(([column, type]) => `${sqlString(column)}: ${sqlString(type)}`)
    .join(', ');
  return `read_json(${sqlString(file)}, format = 'newline_delimited', columns = {${columnSpec}})`;
}
