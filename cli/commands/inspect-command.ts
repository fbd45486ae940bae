import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { SOURCES, sourceByCliName, sourceByType } from '../../lib/sources/registry.ts';
import type { SourceType } from '../../lib/sources/source-definition.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const NAMES = SOURCES.map((source) => source.cliName).join('|');

const INSPECT_HELP = `netflow inspect <file> [--source auto|${NAMES}] [--config FILE]

Normalizes one raw file (plain or gzip text, an Azure PT1H.json, an AWS Parquet file) through the
same staging and normalize models as the hourly job, and prints the normalized flows as NDJSON on
stdout, with the column names of the curated flows table (enrichment columns excepted). A summary
goes to stderr: the source, records read, flows, NODATA/SKIPDATA, and every quarantined record with
its line (or offset) and reason. --source auto (the default) tells the source from the content when
only one source matches it; an AWS text file without a header line is read with the configured
format (sources.aws_vpc.format).

Exit codes: 0 the file was read (some records may be quarantined), 1 the file could not be read at
all (quarantined whole), 2 bad usage or a source that cannot be told.`;

export async function inspectCommand(context: CliContext, file: string | undefined, options: { source?: string }): Promise<number> {
  if (!file) throw new UsageError('inspect needs a file, for example: netflow inspect flows.log.gz --source aws-vpc');
  const resolved = path.resolve(file);
  try {
    if (!(await stat(resolved)).isFile()) throw new UsageError(`${file} is not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  // Loaded on use, so that `netflow --help` and other commands do not pay for them.
  const { detectSources } = await import('../../lib/sources/detect-source.ts');
  const { normalizeFile } = await import('../../lib/sources/normalize-file.ts');
  const requested = options.source ?? 'auto';
  let sourceType: SourceType;
  let how: string;
  if (requested === 'auto') {
    const candidates = await detectSources(resolved);
    if (candidates.length !== 1) {
      const found = candidates.length === 0 ? 'no source matches its content' : `it could be ${candidates.map((c) => sourceByType(c).cliName).join(' or ')}`;
      throw new UsageError(`cannot tell the source of ${file}: ${found}; pass --source ${NAMES}`);
    }
    sourceType = candidates[0]!;
    how = 'detected';
  } else {
    const source = sourceByCliName(requested);
    if (!source) throw new UsageError(`--source must be auto or one of ${NAMES.replaceAll('|', ', ')}, got "${requested}"`);
    sourceType = source.sourceType;
    how = 'as requested';
  }
  let result: NormalizeFileResult;
  try {
    result = await normalizeFile(
      { file: resolved, objectKey: file, sourceType },
      {
        awsVpcFormat: context.config.sources.aws_vpc.format,
        memoryLimit: context.config.duckdb.memory_limit,
        ...(context.config.duckdb.threads ? { threads: context.config.duckdb.threads } : {}),
        onFlowsFile: async (flows) => {
          for await (const chunk of createReadStream(flows, { encoding: 'utf8', highWaterMark: 1 << 20 })) context.stdout(chunk as string);
        },
      },
    );
  } catch (error) {
    context.stderr(`inspect failed: ${(error as Error).message}\n`);
    return 1;
  }
  context.stderr(summary(file, sourceByType(sourceType).cliName, how, result));
  return result.objectQuarantined ? 1 : 0;
}

function summary(file: string, source: string, how: string, result: NormalizeFileResult): string {
  const lines = [
    `file: ${file}`,
    `source: ${source} (${how})`,
    `records read: ${result.recordsRead}`,
    `flows: ${result.flows}`,
    `nodata: ${result.nodata}  skipdata: ${result.skipdata}`,
    `quarantined: ${result.quarantined}${result.objectQuarantined ? ' (the whole file)' : ''}`,
    ...result.quarantine.map((q) => `  ${q.raw_offset === null ? 'file' : `at ${q.raw_offset}`}: ${q.reason}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const inspectCommandDefinition: CommandDefinition = {
  name: 'inspect',
  help: INSPECT_HELP,
  maxPositionals: 1,
  options: { source: { type: 'string' } },
  run: (context, args) => {
    const source = stringOption(args, 'source');
    return inspectCommand(context, args.positionals[0], { ...(source ? { source } : {}) });
  },
};
