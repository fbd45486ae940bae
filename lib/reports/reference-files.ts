import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../../schemas/config.ts';
import { controlMappingSchema, type ControlMapping } from '../../schemas/reference/controls.ts';
import { rulesFileSchema, type RulesFile } from '../../schemas/reference/rules.ts';
import { resolveConfigPath } from '../config/load-config.ts';
import { parseYamlText } from '../config/yaml-file.ts';
import { loadInventoryHistory } from '../reference/load-inventory.ts';

/** What capacity and reports need from the inventory: one row per VM of the latest snapshot. */
export interface VmCapacity {
  vm_id: string;
  vm_name: string;
  segment: string;
  capacity_mbps: number | null;
  owner_team: string | null;
  sku: string | null;
}

/**
 * The latest snapshot of the configured inventory (one file or several; YAML, JSON or CSV, read by
 * the pipeline's own loader). Capacity is planned against the estate as it is now.
 */
export async function loadVmCapacities(config: Config, baseDir: string): Promise<{ vms: VmCapacity[]; sha256: string; files: string[] }> {
  const configured = config.reference.inventory;
  const files = (Array.isArray(configured) ? configured : [configured]).map((file) => resolveConfigPath(baseDir, file));
  const history = await loadInventoryHistory(files);
  const latest = history.snapshots.at(-1);
  const hash = createHash('sha256');
  for (const file of files) hash.update(await readFile(file)).update('\0');
  return {
    files,
    sha256: hash.digest('hex'),
    vms: (latest?.vms ?? []).map((vm) => ({ vm_id: vm.vm_id, vm_name: vm.vm_name, segment: vm.segment, capacity_mbps: vm.capacity_mbps ?? null, owner_team: vm.owner_team ?? null, sku: vm.sku ?? null })),
  };
}

/** The configured rules file, validated, with the SHA-256 of its bytes (the `rules_version` the pipeline records). */
export async function loadRulesFile(config: Config, baseDir: string): Promise<{ rules: RulesFile; sha256: string; file: string; text: string }> {
  const file = resolveConfigPath(baseDir, config.rules);
  const text = await readFile(file, 'utf8');
  return { file, text, rules: parseYamlText(file, text, rulesFileSchema), sha256: createHash('sha256').update(text).digest('hex') };
}

/** The configured control mapping (`reports.controls`), validated, with the SHA-256 of its bytes; null when none is configured. */
export async function loadControlMapping(config: Config, baseDir: string): Promise<{ mapping: ControlMapping; sha256: string; file: string } | null> {
  if (!config.reports.controls) return null;
  const file = resolveConfigPath(baseDir, config.reports.controls);
  const text = await readFile(file, 'utf8');
  return { file, mapping: parseYamlText(file, text, controlMappingSchema), sha256: createHash('sha256').update(text).digest('hex') };
}
