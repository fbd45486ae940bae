import { rulesFileSchema, type RulesFile, type Selector } from '../../schemas/reference/rules.ts';
import type { InventoryHistory } from '../../schemas/reference/inventory.ts';
import type { IpRange } from '../../schemas/reference/ip-ranges.ts';
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
  /** Valid but suspicious: a rule naming a VM, tag, segment or account that no reference file knows (a typo never matches). */
  warnings?: string[];
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
        return snapshots
          .map((s) => `${s.snapshot_at ?? 'undated'}: ${s.vms.length} VM(s), ${s.vms.reduce((n, vm) => n + vm.interfaces.reduce((m, nic) => m + nic.private_ips.length, 0), 0)} address(es)`)
          .join('; ');
      }),
    );
  }
  if (results.every((result) => result.ok) && files.inventory.length > 0) {
    const history = await check('inventory history', files.inventory.join(', '), async () => {
      const epochs = inventoryEpochs(await loadInventoryHistory(files.inventory)).filter((epoch) => epoch.snapshot);
      return epochs.map((epoch) => `${epoch.snapshot!.snapshot_at ?? 'undated'} in force until ${epoch.validTo.getUTCFullYear() === 9999 ? 'further notice' : epoch.validTo.toISOString()}`).join('; ');
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
  let rulesFile: RulesFile | undefined;
  const rulesCheck = await check('rules', files.rules, async () => {
    rulesFile = await readYamlFile(files.rules, rulesFileSchema);
    const problems = crossCheckRules(
      rulesFile,
      files.threatLists.map((list) => list.name),
    );
    if (problems.length > 0) throw new ValidationError(files.rules, problems);
    return `${rulesFile.rules.length} rule(s)${rulesFile.version ? `, version ${rulesFile.version}` : ''}`;
  });
  results.push(rulesCheck);
  if (rulesFile && results.every((result) => result.ok)) {
    const history = await loadInventoryHistory(files.inventory);
    const ranges = (await Promise.all(files.ipRanges.map(readRangeFile))).flatMap((file) => file.ranges);
    const warnings = unknownNames(rulesFile, history, ranges);
    if (warnings.length > 0) rulesCheck.warnings = warnings;
  }
  return results;
}

/** Selectors naming something no snapshot or range has: a typo in a rule silently never matches. */
export function unknownNames(rules: RulesFile, history: InventoryHistory, ranges: readonly IpRange[]): string[] {
  const vms = history.snapshots.flatMap((snapshot) => snapshot.vms);
  const known = {
    vm: new Set(vms.map((vm) => vm.vm_id)),
    tag: new Set([...vms.flatMap((vm) => vm.tags), ...ranges.flatMap((range) => range.tags)]),
    segment: new Set([...vms.map((vm) => vm.segment), ...ranges.flatMap((range) => (range.segment ? [range.segment] : [])), 'internet']),
    account: new Set(vms.map((vm) => vm.account_id)),
  };
  const warnings: string[] = [];
  rules.rules.forEach((rule, index) => {
    const selectors: [string, Selector | undefined][] = [];
    if (rule.kind === 'deny') selectors.push(['from', rule.from], ['to', rule.to]);
    if (rule.kind === 'allow_only') selectors.push(['to', rule.to], ...rule.from.map((selector, position) => [`from.${position}`, selector] as [string, Selector]));
    rule.exceptions.forEach((exception, position) => selectors.push([`exceptions.${position}.from`, exception.from], [`exceptions.${position}.to`, exception.to]));
    for (const [where, selector] of selectors) {
      if (!selector) continue;
      for (const kind of ['vm', 'tag', 'segment', 'account'] as const) {
        const value = (selector as Record<string, unknown>)[kind];
        if (typeof value === 'string' && !known[kind].has(value)) {
          warnings.push(`rules.${index}.${where}: rule "${rule.id}" names ${kind} "${value}", which no inventory snapshot${kind === 'tag' || kind === 'segment' ? ' or range' : ''} has`);
        }
      }
    }
  });
  return warnings;
}

export function formatChecks(results: readonly FileCheck[]): string {
  return (
    results
      .map((result) =>
        result.ok
          ? `ok     ${result.kind.padEnd(17)} ${result.file}\n         ${result.summary}${(result.warnings ?? []).map((warning) => `\n         warning: ${warning}`).join('')}`
          : `ERROR  ${result.kind.padEnd(17)} ${result.file}\n${result.problems.map((problem) => `         ${result.file}: ${problem}`).join('\n')}`,
      )
      .join('\n') + '\n'
  );
}
