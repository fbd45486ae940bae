import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import { readYamlFile, ValidationError } from '../config/yaml-file.ts';
import { inventoryEpochs, loadInventoryHistory, readInventoryFile } from './load-inventory.ts';
import { readRangeFile } from './load-ip-ranges.ts';
import { readThreatList } from './load-threat-lists.ts';
import { crossCheckRules, type ReferenceFiles } from './reference-data.ts';

export interface FileCheck {
  kind: 'inventory' | 'ip_ranges' | 'threat_list' | 'rules' | 'inventory history';
  file: string;
  ok: boolean;
  /** `line N: field: message`, as precise as the format allows. */
  problems: string[];
  /** What the file holds, when valid. */
  summary: string;
}

async function check(kind: FileCheck['kind'], file: string, work: () => Promise<string>): Promise<FileCheck> {
  try {
    return { kind, file, ok: true, problems: [], summary: await work() };
  } catch (error) {
    if (error instanceof ValidationError) return { kind, file, ok: false, problems: error.problems, summary: '' };
    return { kind, file, ok: false, problems: [(error as Error).message], summary: '' };
  }
}

/** Validates every reference file on its own, then across files; reports all problems, never throws. */
export async function checkReferenceFiles(files: ReferenceFiles): Promise<FileCheck[]> {
  const results: FileCheck[] = [];
  for (const file of files.inventory) {
    results.push(
      await check('inventory', file, async () => {
        const snapshots = await readInventoryFile(file);
        return snapshots.map((s) => `${s.snapshot_at ?? 'undated'}: ${s.vms.length} VM(s), ${s.vms.reduce((n, vm) => n + vm.interfaces.reduce((m, nic) => m + nic.private_ips.length, 0), 0)} address(es)`).join('; ');
      }),
    );
  }
  if (results.every((result) => result.ok) && files.inventory.length > 0) {
    const history = await check('inventory history', files.inventory.join(', '), async () => {
      const epochs = inventoryEpochs(await loadInventoryHistory(files.inventory)).filter((epoch) => epoch.snapshot);
      return epochs
        .map((epoch) => `${epoch.snapshot!.snapshot_at ?? 'undated'} in force until ${epoch.validTo.getUTCFullYear() === 9999 ? 'further notice' : epoch.validTo.toISOString()}`)
        .join('; ');
    });
    if (!history.ok || files.inventory.length > 1) results.push(history);
  }
  for (const source of files.ipRanges) {
    results.push(
      await check('ip_ranges', source.path, async () => {
        const { format, ranges } = await readRangeFile(source);
        const v6 = ranges.filter((range) => range.cidr.includes(':')).length;
        return `${format}: ${ranges.length} range(s) (${ranges.length - v6} IPv4, ${v6} IPv6)`;
      }),
    );
  }
  for (const list of files.threatLists) {
    results.push(await check('threat_list', list.path, async () => `${list.name} (${list.format}): ${(await readThreatList(list)).length} entr(ies)`));
  }
  results.push(
    await check('rules', files.rules, async () => {
      const rules = await readYamlFile(files.rules, rulesFileSchema);
      const problems = crossCheckRules(rules, files.threatLists.map((list) => list.name));
      if (problems.length > 0) throw new ValidationError(files.rules, problems);
      return `${rules.rules.length} rule(s)${rules.version ? `, version ${rules.version}` : ''}`;
    }),
  );
  return results;
}

export function formatChecks(results: readonly FileCheck[]): string {
  return (
    results
      .map((result) =>
        result.ok
          ? `ok     ${result.kind.padEnd(17)} ${result.file}\n         ${result.summary}`
          : `ERROR  ${result.kind.padEnd(17)} ${result.file}\n${result.problems.map((problem) => `         ${result.file}: ${problem}`).join('\n')}`,
      )
      .join('\n') + '\n'
  );
}
