import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { datesOf, parseReportPeriod, partitionInPeriod } from '../../lib/reports/report-period.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';

const RECOMMEND_HELP = `netflow recommend --from <DATE|HOUR> --to <DATE|HOUR> [--evaluate-on <DATE|HOUR>[..<DATE|HOUR>]]
                  [--min-flows N] [--min-hours N] [--allow-high-risk] [--write FILE] [--config FILE]

Segmentation recommendations: cross-segment traffic of the period that no allow rule covers and
that is safe to learn from (accepted, conformant, opened by the source, no anomaly's source in that
hour, no threat list), with minimum support (recommend.min_flows flows in recommend.min_hours
distinct hours; --min-flows, --min-hours), one allow_only rule per destination segment, protocol
and contiguous port range, listing every segment that reaches it; high-risk ports
(recommend.high_risk_ports) only with --allow-high-risk; then a default deny per destination
segment and protocol. Each rule comes with its support and why; what was left out, with why.
Ranked by risk (sensitive ports, reached from the internet) then bytes. Prints the rules as YAML
ready to paste under "rules:" of the rules file. --write FILE writes the configured rules file with
them appended, to try with "netflow rules test --hour … --rules FILE" before adopting it.
--evaluate-on a later period prints what the recommended set would have flagged then: new ports
(the default deny) and new sources (the allow rules), per rule, source, destination and port.`;

export interface RecommendCommandOptions {
  from?: string;
  to?: string;
  write?: string;
  evaluateOn?: string;
  minFlows?: string;
  minHours?: string;
  allowHighRisk?: boolean;
}

export async function recommendCommand(context: CliContext, options: RecommendCommandOptions): Promise<number> {
  if (!options.from || !options.to) throw new UsageError('recommend needs --from and --to, for example --from 2024-05-01 --to 2024-05-07');
  let period;
  let evaluation;
  try {
    period = parseReportPeriod(options.from, options.to);
    if (options.evaluateOn) {
      const [from, to] = options.evaluateOn.split('..');
      evaluation = parseReportPeriod(from!, to ?? from!);
    }
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} takes a whole number of at least 1, got "${text}"`);
    return value;
  };
  const minFlows = count('min-flows', options.minFlows);
  const minHours = count('min-hours', options.minHours);
  // Loaded on use: `netflow --help` and the other commands do not pay for these modules.
  const [{ loadRulesFile }, { openReportLake }, { recommendationsYaml, recommendOptionsOf, recommendSegmentationRules, rulesFileWithRecommendations }, { evaluateRecommendations }] = await Promise.all(
    [
      import('../../lib/reports/reference-files.ts'),
      import('../../lib/reports/report-context.ts'),
      import('../../lib/segmentation/recommend-rules.ts'),
      import('../../lib/segmentation/evaluate-recommendations.ts'),
    ],
  );
  const rules = await loadRulesFile(context.config, context.baseDir);
  const periods = evaluation ? [period, evaluation] : [period];
  // Flows to learn from (and to evaluate on), and the anomalies of the learning period: their sources' traffic is not learned from.
  const lake = await openReportLake(
    context,
    (table, partition) => (table === 'flows' && periods.some((p) => partitionInPeriod(partition, p))) || (table === 'anomalies' && partitionInPeriod(partition, period)),
    [...new Set(periods.flatMap((p) => datesOf(p)))].sort(),
  );
  try {
    const settings = { ...recommendOptionsOf(context.config.recommend, options.allowHighRisk === true), ...(minFlows ? { minFlows } : {}), ...(minHours ? { minHours } : {}) };
    const { recommendations, default_denies, skipped } = await recommendSegmentationRules(lake.session, rules.rules, period, settings);
    const lines = recommendations.map((r) => `# ${r.rule.id}: risk ${r.risk}${r.risk_reasons.length ? ` (${r.risk_reasons.join('; ')})` : ''}, ${r.flows} flow(s), ${r.bytes} bytes; why: ${r.why}`);
    for (const deny of default_denies) lines.push(`# ${deny.rule.id}: ${deny.why}`);
    for (const skip of skipped) lines.push(`# not recommended: ${skip.dst_segment} port ${skip.dst_port}: ${skip.reason}`);
    context.stdout(`${lines.join('\n')}${lines.length ? '\n' : ''}${recommendationsYaml(recommendations, default_denies)}`);
    if (evaluation) {
      const flagged = await evaluateRecommendations(
        lake.session,
        [...recommendations, ...default_denies].map((r) => r.rule),
        evaluation,
      );
      const label = `${evaluation.from.toISOString().slice(0, 13)}..${evaluation.to.toISOString().slice(0, 13)}`;
      context.stdout(`# evaluated on ${label}: the recommended set would have flagged ${flagged.reduce((sum, f) => sum + f.flows, 0)} flow(s) in ${flagged.length} group(s)\n`);
      for (const f of flagged)
        context.stdout(`#   ${f.reason}: ${f.src} -> ${f.dst_segment} ${f.protocol}/${f.dst_port ?? '-'}: ${f.flows} flow(s) by ${f.rule_id}, first ${f.first_seen_at.toISOString()}\n`);
    }
    if (options.write) {
      await writeFile(path.resolve(options.write), rulesFileWithRecommendations(rules.text, recommendations, default_denies));
      context.stderr(`wrote ${path.resolve(options.write)} (${rules.file} with ${recommendations.length} recommended rule(s) and ${default_denies.length} default deny rule(s) appended)\n`);
    }
    return 0;
  } finally {
    await lake.close();
  }
}

export const recommendCommandDefinition: CommandDefinition = {
  name: 'recommend',
  help: RECOMMEND_HELP,
  maxPositionals: 0,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    write: { type: 'string' },
    'evaluate-on': { type: 'string' },
    'min-flows': { type: 'string' },
    'min-hours': { type: 'string' },
    'allow-high-risk': { type: 'boolean' },
  },
  run: (context, args) => {
    const options: RecommendCommandOptions = { allowHighRisk: booleanOption(args, 'allow-high-risk') };
    for (const [flag, key] of [
      ['from', 'from'],
      ['to', 'to'],
      ['write', 'write'],
      ['evaluate-on', 'evaluateOn'],
      ['min-flows', 'minFlows'],
      ['min-hours', 'minHours'],
    ] as const) {
      const value = stringOption(args, flag);
      if (value !== undefined) options[key] = value;
    }
    return recommendCommand(context, options);
  },
};
