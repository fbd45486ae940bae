import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Config } from '../../schemas/config.ts';
import { inventoryVmSchema } from '../../schemas/reference/inventory.ts';
import { rulesFileSchema, type RulesFile } from '../../schemas/reference/rules.ts';
import { resolveConfigPath } from '../config/load-config.ts';
import { parseYamlText } from '../config/yaml-file.ts';

/** What capacity and reports need from the inventory: one row per VM of the latest snapshot. */
export interface VmCapacity {
  vm_id: string;
  vm_name: string;
  segment: string;
  capacity_mbps: number | null;
  owner_team: string | null;
}

const vmsOnly = z.looseObject({ vms: z.array(inventoryVmSchema) });
const snapshotsOnly = z.looseObject({ snapshots: z.array(z.looseObject({ snapshot_at: z.string().optional(), vms: z.array(inventoryVmSchema) })).min(1) });

/** The configured inventory file's latest snapshot (a single-snapshot file or a `snapshots:` list). */
export async function loadVmCapacities(config: Config, baseDir: string): Promise<{ vms: VmCapacity[]; sha256: string; file: string }> {
  const file = resolveConfigPath(baseDir, String(config.reference.inventory));
  const text = await readFile(file, 'utf8');
  const parsed = /^snapshots\s*:/m.test(text) ? parseYamlText(file, text, snapshotsOnly) : undefined;
  const vms = parsed
    ? [...parsed.snapshots].sort((a, b) => (a.snapshot_at ?? '').localeCompare(b.snapshot_at ?? '')).at(-1)!.vms
    : parseYamlText(file, text, vmsOnly).vms;
  return {
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    vms: vms.map((vm) => ({ vm_id: vm.vm_id, vm_name: vm.vm_name, segment: vm.segment, capacity_mbps: vm.capacity_mbps ?? null, owner_team: vm.owner_team ?? null })),
  };
}

/** The configured rules file, validated, with the SHA-256 of its bytes (the `rules_version` the pipeline records). */
export async function loadRulesFile(config: Config, baseDir: string): Promise<{ rules: RulesFile; sha256: string; file: string; text: string }> {
  const file = resolveConfigPath(baseDir, config.rules);
  const text = await readFile(file, 'utf8');
  return { file, text, rules: parseYamlText(file, text, rulesFileSchema), sha256: createHash('sha256').update(text).digest('hex') };
}
