import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { datesOf, parseReportPeriod, partitionInPeriod } from '../../lib/reports/report-period.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const RECOMMEND_HELP = `netflow recommend --from <DATE|HOUR> --to <DATE|HOUR> [--write FILE] [--config FILE]

Segmentation recommendations: cross-segment traffic of the period that no allow rule covers
(accepted, conformant, opened by the source), one allow_only rule per destination segment, port
and protocol, listing every segment that reaches it today; ranked by risk (sensitive ports, reached
from the internet) then bytes. Prints the rules as YAML ready to paste under "rules:" of the rules
file. --write FILE writes the configured rules file with them appended, to try with
"netflow rules test --hour … --rules FILE" before adopting it.`;

export async function recommendCommand(context: CliContext, options: { from?: string; to?: string; write?: string }): Promise<number> {
  if (!options.from || !options.to) throw new UsageError('recommend needs --from and --to, for example --from 2024-05-01 --to 2024-05-07');
  let period;
  try {
    period = parseReportPeriod(options.from, options.to);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // Loaded on use: `netflow --help` and the other commands do not pay for these modules.
  const [{ loadRulesFile }, { openReportLake }, { recommendationsYaml, recommendSegmentationRules, rulesFileWithRecommendations }] = await Promise.all([
    import('../../lib/reports/reference-files.ts'),
    import('../../lib/reports/report-context.ts'),
    import('../../lib/segmentation/recommend-rules.ts'),
  ]);
  const rules = await loadRulesFile(context.config, context.baseDir);
  const lake = await openReportLake(context, (table, partition) => table === 'flows' && partitionInPeriod(partition, period), datesOf(period));
  try {
    const { recommendations, skipped } = await recommendSegmentationRules(lake.session, rules.rules, period);
    const lines = recommendations.map((r) => `# ${r.rule.id}: risk ${r.risk}${r.risk_reasons.length ? ` (${r.risk_reasons.join('; ')})` : ''}, ${r.flows} flow(s), ${r.bytes} bytes`);
    for (const skip of skipped) lines.push(`# not recommended: ${skip.dst_segment} port ${skip.dst_port}: ${skip.reason}`);
    context.stdout(`${lines.join('\n')}${lines.length ? '\n' : ''}${recommendationsYaml(recommendations)}`);
    if (options.write) {
      await writeFile(path.resolve(options.write), rulesFileWithRecommendations(rules.text, recommendations));
      context.stderr(`wrote ${path.resolve(options.write)} (${rules.file} with ${recommendations.length} recommended rule(s) appended)\n`);
    }
    return 0;
  } finally {
    await lake.close();
  }
}

export const recommendCommandDefinition: CommandDefinition = {
  name: 'recommend',
  summary: 'segmentation recommendations as ready-to-paste allow_only rules',
  help: RECOMMEND_HELP,
  options: { from: { type: 'string' }, to: { type: 'string' }, write: { type: 'string' } },
  run: (context, args) => {
    const pick = (name: string) => stringOption(args, name);
    return recommendCommand(context, { ...(pick('from') ? { from: pick('from')! } : {}), ...(pick('to') ? { to: pick('to')! } : {}), ...(pick('write') ? { write: pick('write')! } : {}) });
  },
};
