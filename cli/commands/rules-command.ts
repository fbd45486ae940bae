import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { rulesFileSchema, type RulesFile } from '../../schemas/reference/rules.ts';
import { resolveConfigPath } from '../../lib/config/load-config.ts';
import { parseYamlText, ValidationError } from '../../lib/config/yaml-file.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import { unknownNames } from '../../lib/reference/check-reference.ts';
import { loadInventoryHistory } from '../../lib/reference/load-inventory.ts';
import { readRangeFile } from '../../lib/reference/load-ip-ranges.ts';
import { crossCheckRules, referenceFilesOf } from '../../lib/reference/reference-data.ts';
import { explainRule, rulesWarnings } from '../../lib/rules/explain-rules.ts';
import { testRulesOnHour } from '../../lib/rules/test-rules.ts';
import { formatRows } from '../format-rows.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';

const RULES_HELP = `netflow rules check [FILE] [--config FILE]
netflow rules test --hour <YYYY-MM-DDTHH> [--rules FILE] [--json] [--config FILE]

check: validates a rules file (default: the configured one) and explains each rule; errors name
  the line and the key. Threat lists named by rules are checked against the configuration.
  Exit code 0 when valid, 1 when not.
test:  dry-runs the rules (default: the configured file; --rules for a draft) over the published
  flows of one hour and prints, per rule, the connections it matched, those breaching it, those
  an exception excused and those violating it (each connection once, however many observers and
  intervals recorded it, as the alerts and the compliance report count). Reads only: nothing is published, no alert is sent.
  The flows are enriched as they were published (inventory, ranges, threat lists of that run).`;

async function readRules(file: string): Promise<{ rules: RulesFile; hash: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ValidationError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  return { rules: parseYamlText(file, text, rulesFileSchema), hash: createHash('sha256').update(text).digest('hex') };
}

async function check(context: CliContext, fileArg: string | undefined): Promise<number> {
  const file = fileArg ? path.resolve(fileArg) : resolveConfigPath(context.baseDir, context.config.rules);
  const listNames = context.config.reference.threat_lists.map((list) => list.name);
  let parsed: { rules: RulesFile; hash: string };
  try {
    parsed = await readRules(file);
    const problems = crossCheckRules(parsed.rules, listNames);
    if (problems.length > 0) throw new ValidationError(file, problems);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    context.stdout(`${file} is not valid:\n${error.problems.map((problem) => `  ${file}: ${problem}`).join('\n')}\n`);
    return 1;
  }
  const { rules, hash } = parsed;
  const lines = [`${file}: ${rules.rules.length} rule(s), version ${rules.version ?? '(no label)'}, sha256:${hash}`];
  for (const rule of rules.rules) {
    lines.push(`  ${rule.id} [${rule.kind}, ${rule.severity}${rule.owner ? `, owner ${rule.owner}` : ''}]: ${explainRule(rule)}`);
    for (const exception of rule.exceptions) {
      lines.push(
        `    except ${[exception.from && `from ${JSON.stringify(exception.from)}`, exception.to && `to ${JSON.stringify(exception.to)}`, exception.ports && `ports ${exception.ports.join(', ')}`].filter(Boolean).join(' ') || 'all flows'} until ${exception.expires}: ${exception.reason}`,
      );
    }
  }
  for (const warning of rulesWarnings(rules, new Date(), listNames)) lines.push(`  warning: ${warning}`);
  for (const warning of await namesUnknownToReference(context, rules)) lines.push(`  warning: ${warning}`);
  context.stdout(`${lines.join('\n')}\n`);
  return 0;
}

/** Rule selectors naming what the configured inventory and ranges do not have; nothing when those files do not load (ref check reports them). */
async function namesUnknownToReference(context: CliContext, rules: RulesFile): Promise<string[]> {
  try {
    const files = referenceFilesOf(context.config, context.baseDir);
    const history = await loadInventoryHistory(files.inventory);
    const ranges = (await Promise.all(files.ipRanges.map(readRangeFile))).flatMap((file) => file.ranges);
    return unknownNames(rules, history, ranges);
  } catch {
    return [];
  }
}

async function test(context: CliContext, options: { hour?: string | undefined; rules?: string | undefined; json: boolean }): Promise<number> {
  if (!options.hour) throw new UsageError('rules test needs --hour, for example --hour 2024-05-01T13');
  const hour = parseHour(options.hour);
  const file = options.rules ? path.resolve(options.rules) : resolveConfigPath(context.baseDir, context.config.rules);
  const { rules, hash } = await readRules(file);
  const lake = await openLakeSession({
    store: context.store,
    workDir: path.resolve(context.baseDir, context.config.work_dir),
    memoryLimit: context.config.duckdb.memory_limit,
    maxTempDirectorySize: context.config.duckdb.max_temp_directory_size,
  });
  try {
    const result = await testRulesOnHour(lake.session, rules.rules, hour);
    if (result.flows === 0) {
      context.stderr(`netflow rules test: no published flows for hour ${options.hour} (run it first: netflow run --hour ${options.hour})\n`);
      return 1;
    }
    if (options.json) {
      context.stdout(
        `${JSON.stringify({ hour: hour.toISOString().slice(0, 13), rules_file: file, rules_version: `sha256:${hash}`, flows: result.flows, connections: result.connections, rules: result.rows })}\n`,
      );
    } else {
      context.stdout(
        `dry run of ${file} (sha256:${hash.slice(0, 12)}…) over ${result.flows} published flow(s) (${result.connections} connection(s)) of ${hour.toISOString().slice(0, 13)}; nothing is published\n`,
      );
      context.stdout(formatRows(result.rows as unknown as Record<string, unknown>[], ['rule_id', 'matched', 'breaching', 'excused', 'violating'], 'table'));
    }
    return 0;
  } finally {
    await lake.close();
  }
}

export const rulesCommandDefinition: CommandDefinition = {
  name: 'rules',
  help: RULES_HELP,
  maxPositionals: 2,
  options: { hour: { type: 'string' }, rules: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const [subcommand, file] = args.positionals;
    if (subcommand === 'check') return check(context, file);
    if (subcommand === 'test') return test(context, { hour: stringOption(args, 'hour'), rules: stringOption(args, 'rules'), json: booleanOption(args, 'json') });
    throw new UsageError(`rules needs a sub-command: check or test (got ${subcommand ? `"${subcommand}"` : 'none'})`);
  },
};
