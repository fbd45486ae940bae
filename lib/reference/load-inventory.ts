import { ValidationError } from '../config/yaml-file.ts';
import { inventorySnapshotSchema, inventorySnapshotsFileSchema, type InventoryHistory, type InventorySnapshot } from '../../schemas/reference/inventory.ts';
import { splitList } from './csv-text.ts';
import { csvColumns, csvIssues, extensionOf, parseStructured, readCsv, readReferenceText, topLevelKeys } from './reference-file.ts';

export const INVENTORY_CSV_COLUMNS = [
  'snapshot_at',
  'vm_id',
  'vm_name',
  'account_id',
  'region',
  'sku',
  'capacity_mbps',
  'owner_team',
  'segment',
  'tags',
  'interface_id',
  'mac',
  'private_ips',
] as const;
const REQUIRED_CSV_COLUMNS = ['vm_id', 'vm_name', 'account_id', 'segment', 'interface_id', 'private_ips'];

/** Reads one inventory file (YAML, JSON or CSV) into its snapshots. */
export async function readInventoryFile(file: string): Promise<InventorySnapshot[]> {
  const text = await readReferenceText(file);
  if (extensionOf(file) === 'csv') return parseInventoryCsv(file, text);
  if (topLevelKeys(text).includes('snapshots')) return parseStructured(file, text, inventorySnapshotsFileSchema).snapshots;
  return [parseStructured(file, text, inventorySnapshotSchema)];
}

/**
 * CSV: one row per interface; the VM's attributes come from its first row in the snapshot, lists
 * (`tags`, `private_ips`) are separated by `;`. Rows with different `snapshot_at` are different snapshots.
 */
export function parseInventoryCsv(file: string, text: string): InventorySnapshot[] {
  const table = readCsv(file, text);
  const columns = csvColumns(file, table, REQUIRED_CSV_COLUMNS, INVENTORY_CSV_COLUMNS);
  const cell = (fields: string[], name: string) => {
    const index = columns.get(name);
    const value = index === undefined ? undefined : fields[index]?.trim();
    return value === '' ? undefined : value;
  };
  interface Draft {
    raw: Record<string, unknown>;
    vms: Map<string, { raw: Record<string, unknown>; line: number; nicLines: number[] }>;
  }
  const snapshots = new Map<string, Draft>();
  const problems: string[] = [];
  for (const record of table.records) {
    if (record.fields.length !== table.header.length) {
      problems.push(`line ${record.line}: expected ${table.header.length} fields, found ${record.fields.length}`);
      continue;
    }
    const at = cell(record.fields, 'snapshot_at') ?? '';
    const snapshot = snapshots.get(at) ?? { raw: at ? { snapshot_at: at } : {}, vms: new Map() };
    snapshots.set(at, snapshot);
    const vmId = cell(record.fields, 'vm_id') ?? '';
    let vm = snapshot.vms.get(vmId);
    if (!vm) {
      const capacity = cell(record.fields, 'capacity_mbps');
      const raw: Record<string, unknown> = { vm_id: vmId, interfaces: [] };
      for (const name of ['vm_name', 'account_id', 'region', 'sku', 'owner_team', 'segment'] as const) {
        const value = cell(record.fields, name);
        if (value !== undefined) raw[name] = value;
      }
      if (capacity !== undefined) raw.capacity_mbps = /^-?\d+(\.\d+)?$/.test(capacity) ? Number(capacity) : capacity;
      raw.tags = splitList(cell(record.fields, 'tags'));
      vm = { raw, line: record.line, nicLines: [] };
      snapshot.vms.set(vmId, vm);
    }
    const nic: Record<string, unknown> = { interface_id: cell(record.fields, 'interface_id') ?? '', private_ips: splitList(cell(record.fields, 'private_ips')) };
    const mac = cell(record.fields, 'mac');
    if (mac !== undefined) nic.mac = mac;
    (vm.raw.interfaces as unknown[]).push(nic);
    vm.nicLines.push(record.line);
  }
  if (problems.length > 0) throw new ValidationError(file, problems);
  const parsed: InventorySnapshot[] = [];
  for (const snapshot of snapshots.values()) {
    const vms = [...snapshot.vms.values()];
    const result = inventorySnapshotSchema.safeParse({ ...snapshot.raw, vms: vms.map((vm) => vm.raw) });
    if (result.success) {
      parsed.push(result.data);
      continue;
    }
    problems.push(
      ...csvIssues(result.error.issues, (issuePath) => {
        if (issuePath[0] === 'snapshot_at') return { line: vms[0]?.line ?? 2, column: 'snapshot_at' };
        const vm = vms[Number(issuePath[1])];
        if (!vm) return undefined;
        if (issuePath[2] === 'interfaces' && issuePath.length > 3) {
          return { line: vm.nicLines[Number(issuePath[3])] ?? vm.line, column: String(issuePath[4] ?? 'interface_id') };
        }
        return { line: vm.line, column: String(issuePath[2] ?? 'vm_id') };
      }),
    );
  }
  if (problems.length > 0) throw new ValidationError(file, problems);
  return parsed;
}

/**
 * Reads every inventory file and orders the snapshots in time. Several snapshots must all be
 * dated, and no two may share a time; a single undated snapshot is valid at all times.
 */
export async function loadInventoryHistory(files: readonly string[]): Promise<InventoryHistory> {
  const perFile = await Promise.all(files.map(async (file) => ({ file, snapshots: await readInventoryFile(file) })));
  const all = perFile.flatMap(({ file, snapshots }) => snapshots.map((snapshot) => ({ file, snapshot })));
  if (all.length > 1) {
    const undated = all.find(({ snapshot }) => snapshot.snapshot_at === undefined);
    if (undated) throw new ValidationError(undated.file, ['snapshot_at: every snapshot needs a time when there are several']);
    const seen = new Map<number, string>();
    for (const { file, snapshot } of all) {
      const at = Date.parse(snapshot.snapshot_at!);
      if (seen.has(at)) throw new ValidationError(file, [`snapshot_at: two snapshots taken at ${snapshot.snapshot_at} (also in ${seen.get(at)})`]);
      seen.set(at, file);
    }
  }
  const snapshots = all.map(({ snapshot }) => snapshot).sort((a, b) => Date.parse(a.snapshot_at ?? '0') - Date.parse(b.snapshot_at ?? '0'));
  return { snapshots };
}

/** A period of time with one inventory in force; epoch 0 is before the first dated snapshot (no VM known). */
export interface InventoryEpoch {
  epoch: number;
  validFrom: Date;
  validTo: Date;
  snapshot: InventorySnapshot | null;
}

export const TIME_MIN = new Date('0001-01-01T00:00:00Z');
export const TIME_MAX = new Date('9999-12-31T00:00:00Z');

export function inventoryEpochs(history: InventoryHistory): InventoryEpoch[] {
  const { snapshots } = history;
  if (snapshots.length === 0) return [{ epoch: 0, validFrom: TIME_MIN, validTo: TIME_MAX, snapshot: null }];
  if (snapshots.length === 1 && snapshots[0]!.snapshot_at === undefined) return [{ epoch: 1, validFrom: TIME_MIN, validTo: TIME_MAX, snapshot: snapshots[0]! }];
  const epochs: InventoryEpoch[] = [{ epoch: 0, validFrom: TIME_MIN, validTo: new Date(snapshots[0]!.snapshot_at!), snapshot: null }];
  snapshots.forEach((snapshot, index) => {
    const next = snapshots[index + 1];
    epochs.push({ epoch: index + 1, validFrom: new Date(snapshot.snapshot_at!), validTo: next ? new Date(next.snapshot_at!) : TIME_MAX, snapshot });
  });
  return epochs;
}
