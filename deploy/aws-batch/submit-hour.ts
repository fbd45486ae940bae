import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * Submits one event hour (or a backfill range) to AWS Batch: an array job of its shards, then
 * the commit, which depends on the array job as a whole: Batch starts it only once every child
 * has succeeded, and fails it when a child has failed past its retries (job-definition.json's
 * retryStrategy). Both run the one job definition; the container's entry point
 * (deploy/container/entrypoint.mjs) turns AWS_BATCH_JOB_ARRAY_INDEX into the shard. With
 * --parts M > 1, an array job of the hours' commit parts depends on the shards, and the commit on
 * the parts (docs/scale-out.md, "Commit parts").
 *
 *   node --import tsx deploy/aws-batch/submit-hour.ts --queue netflow --shards 8 [--parts 4] [--hour 2024-05-01T13 | --from H --to H] [--dry-run]
 *
 * Submits with the AWS CLI (`aws batch submit-job`), so credentials and region come from its
 * usual chain; --dry-run prints the two SubmitJob requests instead.
 */

/** SubmitJob's request, the members used here (AWS Batch API 2016-08-10). */
export interface SubmitJobRequest {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  arrayProperties?: { size: number };
  dependsOn?: { jobId: string; type?: 'N_TO_N' | 'SEQUENTIAL' }[];
  containerOverrides: { environment: { name: string; value: string }[] };
  propagateTags?: boolean;
  tags?: Record<string, string>;
}

export interface HourSubmission {
  queue: string;
  jobDefinition: string;
  shards: number;
  /** The commit parts of every hour (1, the default: no parts stage). */
  parts?: number;
  /** One hour, or a backfill range (both included). */
  hours: { hour: string } | { from: string; to: string };
}

/** Batch's bounds on an array job's size; a job of one child is submitted as a plain job. */
const ARRAY_SIZE = { min: 2, max: 10_000 };
const HOUR_MS = 3_600_000;

function hourTime(text: string): number {
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text) ? Date.parse(`${text}:00:00Z`) : NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 13) !== text) throw new Error(`not a UTC hour such as 2024-05-01T13: "${text}"`);
  return time;
}

function array(size: number): { arrayProperties?: { size: number } } {
  if (size > ARRAY_SIZE.max) throw new Error(`an array job has at most ${ARRAY_SIZE.max} children, this one would have ${size}: submit fewer hours at once`);
  return size >= ARRAY_SIZE.min ? { arrayProperties: { size } } : {};
}

const environment = (values: Record<string, string>) => ({ environment: Object.entries(values).map(([name, value]) => ({ name, value })) });

/**
 * The shards' array job; given its id, the commit parts' array job (none with one part); given
 * the id of the job before it (the parts', else the shards'), the commit's job.
 */
export function hourSubmission(submission: HourSubmission): {
  shards: SubmitJobRequest;
  parts?: (shardsJobId: string) => SubmitJobRequest;
  commit(previousJobId: string): SubmitJobRequest;
} {
  if (!Number.isInteger(submission.shards) || submission.shards < 1) throw new Error(`shards must be a positive integer, got ${submission.shards}`);
  const parts = submission.parts ?? 1;
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`parts must be a positive integer, got ${parts}`);
  const single = 'hour' in submission.hours;
  const range: Record<string, string> =
    'hour' in submission.hours ? { NETFLOW_HOUR: submission.hours.hour } : { NETFLOW_BACKFILL_FROM: submission.hours.from, NETFLOW_BACKFILL_TO: submission.hours.to };
  let hours = 1;
  if ('hour' in submission.hours) hourTime(submission.hours.hour);
  else hours = (hourTime(submission.hours.to) - hourTime(submission.hours.from)) / HOUR_MS + 1;
  if (hours < 1) throw new Error('--to is before --from');
  const label = Object.values(range)
    .join('-')
    .replace(/[^0-9A-Za-z-]/g, '');
  const base = { jobQueue: submission.queue, jobDefinition: submission.jobDefinition, propagateTags: true, tags: { app: 'netflow-lake', hours: Object.values(range).join('..') } };
  const shared = { NETFLOW_SHARDS: String(submission.shards), ...(parts > 1 ? { NETFLOW_PARTS: String(parts) } : {}), ...range };
  return {
    shards: { jobName: `netflow-shards-${label}`, ...base, ...array(hours * submission.shards), containerOverrides: environment({ NETFLOW_MODE: 'shard', ...shared }) },
    ...(parts > 1
      ? {
          parts: (shardsJobId: string) => ({
            jobName: `netflow-commit-parts-${label}`,
            ...base,
            ...array(hours * parts),
            dependsOn: [{ jobId: shardsJobId }],
            containerOverrides: environment({ NETFLOW_MODE: 'part', ...shared }),
          }),
        }
      : {}),
    // No dependency type: a job that depends on an array job waits for all of its children (N_TO_N would pair child k with child k, which is not the commit's mapping).
    commit: (previousJobId) => ({
      jobName: `netflow-commit-${label}`,
      ...base,
      ...(single ? {} : array(hours)),
      dependsOn: [{ jobId: previousJobId }],
      containerOverrides: environment({ NETFLOW_MODE: 'commit', ...shared }),
    }),
  };
}

/** The last hour whose delivery window has closed, as the entry point computes it for a scheduled run. */
export function lastClosedHour(now: number, latenessMinutes: number): string {
  return new Date(Math.floor((now - HOUR_MS - latenessMinutes * 60_000) / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
}

function submitWithCli(request: SubmitJobRequest): string {
  const result = spawnSync('aws', ['batch', 'submit-job', '--cli-input-json', JSON.stringify(request), '--output', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.error) throw new Error(`cannot run the AWS CLI: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`aws batch submit-job ${request.jobName} exited ${result.status}`);
  return (JSON.parse(result.stdout) as { jobId: string }).jobId;
}

const USAGE = `node --import tsx deploy/aws-batch/submit-hour.ts --queue QUEUE --shards N [--parts M] [--job-definition netflow-worker]
    [--hour YYYY-MM-DDTHH | --from YYYY-MM-DDTHH --to YYYY-MM-DDTHH] [--lateness-minutes 15] [--dry-run]
Without --hour or --from/--to: the last hour whose delivery window has closed. Exit 0 submitted, 1 failed, 2 usage.`;

async function main(argv: string[]): Promise<number> {
  let submission: HourSubmission;
  let dryRun: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        queue: { type: 'string' },
        shards: { type: 'string' },
        parts: { type: 'string' },
        'job-definition': { type: 'string' },
        hour: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'lateness-minutes': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
    if (!values.queue || !values.shards) throw new Error('--queue and --shards are required');
    if (values.hour && (values.from || values.to)) throw new Error('give --hour or --from and --to, not both');
    if (!values.from !== !values.to) throw new Error('--from and --to go together');
    const hours = values.from && values.to ? { from: values.from, to: values.to } : { hour: values.hour ?? lastClosedHour(Date.now(), Number(values['lateness-minutes'] ?? 15)) };
    submission = { queue: values.queue, jobDefinition: values['job-definition'] ?? 'netflow-worker', shards: Number(values.shards), parts: Number(values.parts ?? 1), hours };
    dryRun = values['dry-run'] === true;
    hourSubmission(submission);
  } catch (error) {
    process.stderr.write(`submit-hour: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const requests = hourSubmission(submission);
  if (dryRun) {
    const parts = requests.parts ? `${JSON.stringify(requests.parts('<the shards job id>'))}\n` : '';
    process.stdout.write(`${JSON.stringify(requests.shards)}\n${parts}${JSON.stringify(requests.commit(requests.parts ? '<the parts job id>' : '<the shards job id>'))}\n`);
    return 0;
  }
  try {
    const shardsJobId = submitWithCli(requests.shards);
    const partsJobId = requests.parts ? submitWithCli(requests.parts(shardsJobId)) : undefined;
    const commitJobId = submitWithCli(requests.commit(partsJobId ?? shardsJobId));
    process.stdout.write(`${JSON.stringify({ shards: shardsJobId, ...(partsJobId ? { parts: partsJobId } : {}), commit: commitJobId })}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`submit-hour: ${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) process.exitCode = await main(process.argv.slice(2));
