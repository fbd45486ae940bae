import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Document } from 'yaml';

/**
 * netflow's Kubernetes manifests, from one set of parameters (docs/scale-out.md, "Kubernetes").
 * The checked-in netflow-hourly.yaml and netflow-backfill.yaml are this renderer's output with
 * the defaults below (`--write` regenerates them; test/deploy/manifests.test.ts fails when they
 * drift), so `kubectl apply -f` needs no Node, and one pod template serves every Job.
 *
 * Every hour: two CronJobs at the same minute. The shards' CronJob runs the hour as an Indexed
 * Job, completion index = shard number, each index retried on its own (backoffLimitPerIndex).
 * The commit's CronJob runs `netflow commit`, which refuses (exit 5, naming the shard) while a
 * shard is missing; its entry point retries it every minute for NETFLOW_COMMIT_WAIT_MINUTES.
 * Why not one Job that starts the commit after the shards: that needs a controller, or a pod with
 * rights to create Jobs; two CronJobs need neither, and the commit's refusal is the barrier.
 * Both compute the same hour (now − 1 h − lateness, floored) as long as they start within
 * 55 minutes of :20 (startingDeadlineSeconds: 600).
 *
 * A backfill: one Indexed Job over hours × shards (index k → hour FROM + ⌊k / N⌋, shard k mod N),
 * `parallelism` = the workers, and one Indexed Job of commits, index = hour.
 *
 * With M > 1 commit parts (`parts`), a third CronJob (a backfill: a third Job) between them runs
 * the hour's commit parts as an Indexed Job (index = part; a backfill: hour × M + part), each
 * retried while shards are missing as the commit is; the commit then publishes from the parts and
 * refuses while one is missing (docs/scale-out.md, "Commit parts").
 */
export interface ManifestParameters {
  image: string;
  namespace?: string;
  /** N, the shards of every hour. */
  shards: number;
  /** M, the commit parts of every hour (1: the commit does their work itself, no parts stage). */
  parts: number;
  /** The configuration's `lateness`, in minutes. */
  latenessMinutes: number;
  /** Minute of the hour (UTC) at which both CronJobs start. */
  minute: number;
  /** Per shard pod: cores, memory (Kubernetes quantities), local disk for staging and DuckDB's spill. */
  shardCpu: string;
  shardMemory: string;
  shardDisk: string;
  /** DuckDB's memory_limit and spill cap written into the configuration (fit within shardMemory and shardDisk). */
  duckdbMemoryLimit: string;
  duckdbTempSize: string;
  commitCpu: string;
  commitMemory: string;
  /** Retries of one shard (backoffLimitPerIndex) and of a commit pod (backoffLimit). */
  retriesPerShard: number;
  /** How long a commit waits for the shards, retrying (the entry point's NETFLOW_COMMIT_WAIT_MINUTES). */
  commitWaitMinutes: number;
  /** The configuration's store section, YAML flow text. */
  store: string;
  backfill?: { from: string; to: string; workers: number };
}

export const DEFAULT_PARAMETERS: ManifestParameters = {
  image: 'netflow-lake:latest',
  shards: 4,
  parts: 1,
  latenessMinutes: 15,
  minute: 20,
  shardCpu: '2',
  shardMemory: '3Gi',
  shardDisk: '24Gi',
  duckdbMemoryLimit: '2GB',
  duckdbTempSize: '20GB',
  commitCpu: '2',
  commitMemory: '3Gi',
  retriesPerShard: 3,
  commitWaitMinutes: 150,
  store: '{ type: s3, bucket: my-flow-lake, prefix: netflow/, region: eu-west-1 }',
};

export const EXAMPLE_BACKFILL = { from: '2024-05-01T00', to: '2024-05-01T23', workers: 16 };

const LABELS = { 'app.kubernetes.io/name': 'netflow-lake' };
const HOUR_MS = 3_600_000;

/** One Kubernetes object, with the comment printed above it. */
export interface Manifest {
  comment: string;
  object: Record<string, unknown>;
}

function metadata(parameters: ManifestParameters, name: string, component?: string): Record<string, unknown> {
  return { name, ...(parameters.namespace ? { namespace: parameters.namespace } : {}), labels: { ...LABELS, ...(component ? { 'app.kubernetes.io/component': component } : {}) } };
}

function configText(parameters: ManifestParameters): string {
  return [
    `store: ${parameters.store}`,
    'ledger: { path: /var/lib/netflow/ledger/ledger.ndjson }',
    'work_dir: /var/lib/netflow/work',
    `duckdb: { memory_limit: ${parameters.duckdbMemoryLimit}, max_temp_directory_size: ${parameters.duckdbTempSize} }`,
    `lateness: ${parameters.latenessMinutes}m`,
    'log: { level: info }',
    '',
  ].join('\n');
}

/** The pod of every Job: the image's entry point with `env`, the configuration, a work volume, the shared ledger. */
function podTemplate(parameters: ManifestParameters, component: string, env: Record<string, string>, resources: { cpu: string; memory: string; disk: string }): Record<string, unknown> {
  return {
    metadata: { labels: { ...LABELS, 'app.kubernetes.io/component': component } },
    spec: {
      serviceAccountName: 'netflow',
      // podFailurePolicy needs Never: a failed shard becomes a new pod, which the Job counts.
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'netflow',
          image: parameters.image,
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          resources: {
            requests: { cpu: resources.cpu, memory: resources.memory, 'ephemeral-storage': resources.disk },
            limits: { memory: resources.memory, 'ephemeral-storage': resources.disk },
          },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/netflow', readOnly: true },
            { name: 'work', mountPath: '/var/lib/netflow/work' },
            { name: 'ledger', mountPath: '/var/lib/netflow/ledger' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'netflow-config' } },
        { name: 'work', emptyDir: { sizeLimit: resources.disk } },
        { name: 'ledger', persistentVolumeClaim: { claimName: 'netflow-ledger' } },
        { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
      ],
    },
  };
}

/** The spec of an Indexed Job of shards: each index retried on its own, bad usage failing the Job, disruptions not counted. */
function shardJobSpec(parameters: ManifestParameters, completions: number, parallelism: number, env: Record<string, string>): Record<string, unknown> {
  return {
    completionMode: 'Indexed',
    completions,
    parallelism,
    backoffLimitPerIndex: parameters.retriesPerShard,
    // A shard out of retries fails the Job at once: its hour cannot be committed without it.
    maxFailedIndexes: 0,
    podFailurePolicy: {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'netflow', operator: 'In', values: [2] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
      ],
    },
    ttlSecondsAfterFinished: 86_400,
    template: podTemplate(
      parameters,
      'shard',
      { NETFLOW_MODE: 'shard', NETFLOW_SHARDS: String(parameters.shards), ...env },
      { cpu: parameters.shardCpu, memory: parameters.shardMemory, disk: parameters.shardDisk },
    ),
  };
}

function commitJobSpec(parameters: ManifestParameters, env: Record<string, string>, indexed?: { completions: number; parallelism: number }): Record<string, unknown> {
  return {
    // Indexed (a backfill): each hour's commit retried on its own, as a shard is.
    ...(indexed ? { completionMode: 'Indexed', completions: indexed.completions, parallelism: indexed.parallelism, backoffLimitPerIndex: 2 } : { backoffLimit: 2 }),
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'netflow', operator: 'In', values: [2] } }] },
    ttlSecondsAfterFinished: 86_400,
    template: podTemplate(
      parameters,
      'commit',
      { NETFLOW_MODE: 'commit', ...commitEnv(parameters), ...env },
      { cpu: parameters.commitCpu, memory: parameters.commitMemory, disk: parameters.shardDisk },
    ),
  };
}

/** The spec of an Indexed Job of commit parts: `completions` parts, each retried on its own while its hour's shards are missing. */
function partJobSpec(parameters: ManifestParameters, completions: number, parallelism: number, env: Record<string, string>): Record<string, unknown> {
  return {
    completionMode: 'Indexed',
    completions,
    parallelism,
    backoffLimitPerIndex: 2,
    maxFailedIndexes: 0,
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'netflow', operator: 'In', values: [2] } }] },
    ttlSecondsAfterFinished: 86_400,
    template: podTemplate(
      parameters,
      'commit-part',
      { NETFLOW_MODE: 'part', ...commitEnv(parameters), ...env },
      { cpu: parameters.commitCpu, memory: parameters.commitMemory, disk: parameters.shardDisk },
    ),
  };
}

/** What every commit and commit part is told: the hour's shards and parts, how long to wait for them. */
function commitEnv(parameters: ManifestParameters): Record<string, string> {
  return {
    NETFLOW_SHARDS: String(parameters.shards),
    ...(parameters.parts > 1 ? { NETFLOW_PARTS: String(parameters.parts) } : {}),
    NETFLOW_COMMIT_WAIT_MINUTES: String(parameters.commitWaitMinutes),
  };
}

function cronJob(parameters: ManifestParameters, name: string, component: string, jobSpec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: metadata(parameters, name, component),
    spec: {
      schedule: `${parameters.minute} * * * *`,
      timeZone: 'Etc/UTC',
      // Hours are independent: a slow hour does not hold the next one back.
      concurrencyPolicy: 'Allow',
      // Started later, the pod could compute another hour than its partner: skipped instead (netflow status shows it missing).
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: { metadata: { labels: { ...LABELS, 'app.kubernetes.io/component': component } }, spec: { ...jobSpec, activeDeadlineSeconds: 3 * 3600 } },
    },
  };
}

/** The hourly deployment: identity, configuration, ledger volume and the two CronJobs. */
export function hourlyManifests(parameters: ManifestParameters): Manifest[] {
  const lateness = { NETFLOW_LATENESS_MINUTES: String(parameters.latenessMinutes) };
  return [
    {
      comment: "The pods' identity. Bind it to a cloud role that reads raw/ and writes the lake (EKS: the eks.amazonaws.com/role-arn annotation). The pods call no Kubernetes API: no token.",
      object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(parameters, 'netflow'), automountServiceAccountToken: false },
    },
    {
      comment: "netflow's configuration, mounted at /etc/netflow/netflow.yaml (the image's NETFLOW_CONFIG).",
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(parameters, 'netflow-config'), data: { 'netflow.yaml': configText(parameters) } },
    },
    {
      comment: 'The run ledger, one file every shard and commit of an hour appends to: a volume mounted by many pods at once (EFS, Filestore, Azure Files, NFS).',
      object: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: metadata(parameters, 'netflow-ledger'),
        spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } },
      },
    },
    {
      comment: `Every hour at :${String(parameters.minute).padStart(2, '0')} UTC, the hour whose delivery window closed, as an Indexed Job of ${parameters.shards} shards (completion index = shard).`,
      object: cronJob(parameters, 'netflow-hour-shards', 'shard', shardJobSpec(parameters, parameters.shards, parameters.shards, lateness)),
    },
    ...(parameters.parts > 1
      ? [
          {
            comment: `The same hour's commit parts, an Indexed Job of ${parameters.parts} (completion index = part): each refuses while a shard is missing, and is retried for ${parameters.commitWaitMinutes} minutes.`,
            object: cronJob(parameters, 'netflow-hour-commit-parts', 'commit-part', partJobSpec(parameters, parameters.parts, parameters.parts, lateness)),
          },
        ]
      : []),
    {
      comment: `The same hour's commit: netflow commit refuses while a ${parameters.parts > 1 ? 'shard or part' : 'shard'} is missing, and is retried for ${parameters.commitWaitMinutes} minutes.`,
      object: cronJob(parameters, 'netflow-hour-commit', 'commit', commitJobSpec(parameters, lateness)),
    },
  ];
}

/** Hours from `from` to `to`, both included. */
export function backfillHours(from: string, to: string): number {
  const [start, end] = [Date.parse(`${from}:00:00Z`), Date.parse(`${to}:00:00Z`)];
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) throw new Error(`a backfill needs two UTC hours, the first not after the second: got ${from} and ${to}`);
  return (end - start) / HOUR_MS + 1;
}

/** A backfill: every hour × shard as one Indexed Job with `workers` pods at once, then one commit per hour. */
export function backfillManifests(parameters: ManifestParameters, backfill: { from: string; to: string; workers: number }): Manifest[] {
  const hours = backfillHours(backfill.from, backfill.to);
  const range = { NETFLOW_BACKFILL_FROM: backfill.from, NETFLOW_BACKFILL_TO: backfill.to };
  const name = `${backfill.from}-${backfill.to}`.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return [
    {
      comment: `Backfill ${backfill.from} … ${backfill.to}: ${hours} hours × ${parameters.shards} shards, ${backfill.workers} at a time (index k → hour ${backfill.from} + ⌊k / ${parameters.shards}⌋, shard k mod ${parameters.shards}).`,
      object: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: metadata(parameters, `netflow-backfill-shards-${name}`, 'shard'),
        spec: shardJobSpec(parameters, hours * parameters.shards, backfill.workers, range),
      },
    },
    ...(parameters.parts > 1
      ? [
          {
            comment: `Its commit parts, ${hours} hours × ${parameters.parts} parts (index k → hour ${backfill.from} + ⌊k / ${parameters.parts}⌋, part k mod ${parameters.parts}), each waiting for its hour's shards.`,
            object: {
              apiVersion: 'batch/v1',
              kind: 'Job',
              metadata: metadata(parameters, `netflow-backfill-parts-${name}`, 'commit-part'),
              spec: partJobSpec(parameters, hours * parameters.parts, backfill.workers, range),
            },
          },
        ]
      : []),
    {
      comment: `Its commits, one per hour (index = hour), each waiting for its hour's ${parameters.parts > 1 ? 'parts' : 'shards'}.`,
      object: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: metadata(parameters, `netflow-backfill-commits-${name}`, 'commit'),
        spec: commitJobSpec(parameters, range, { completions: hours, parallelism: Math.max(1, Math.min(hours, Math.ceil(backfill.workers / parameters.shards))) }),
      },
    },
  ];
}

export function renderManifests(parameters: ManifestParameters): Manifest[] {
  return parameters.backfill ? backfillManifests(parameters, parameters.backfill) : hourlyManifests(parameters);
}

/** Multi-document YAML, each object under its comment. */
export function manifestsYaml(manifests: readonly Manifest[], header: string): string {
  const documents = manifests.map((manifest, index) => {
    const document = new Document(manifest.object);
    document.commentBefore = `${index === 0 ? `${header}\n\n` : ''} ${manifest.comment}`;
    return document.toString({ lineWidth: 0 });
  });
  return documents.join('---\n');
}

const HEADER = ' Generated by deploy/kubernetes/render-manifests.ts; change the parameters there or pass them, see docs/scale-out.md.';

export const CHECKED_IN = {
  hourly: { file: path.join(import.meta.dirname, 'netflow-hourly.yaml'), parameters: DEFAULT_PARAMETERS },
  backfill: { file: path.join(import.meta.dirname, 'netflow-backfill.yaml'), parameters: { ...DEFAULT_PARAMETERS, backfill: EXAMPLE_BACKFILL } },
};

export function checkedInText(which: keyof typeof CHECKED_IN): string {
  return manifestsYaml(renderManifests(CHECKED_IN[which].parameters), HEADER);
}

const USAGE = `node --import tsx deploy/kubernetes/render-manifests.ts [--image IMAGE] [--namespace NS] [--shards N] [--parts M]
    [--backfill-from YYYY-MM-DDTHH --backfill-to YYYY-MM-DDTHH --workers W] [--write]
Prints the hourly manifests (or a backfill's Jobs) as YAML; --write regenerates the checked-in files.`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      namespace: { type: 'string' },
      shards: { type: 'string' },
      parts: { type: 'string' },
      'backfill-from': { type: 'string' },
      'backfill-to': { type: 'string' },
      workers: { type: 'string' },
      write: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.write) {
    for (const which of ['hourly', 'backfill'] as const) await writeFile(CHECKED_IN[which].file, checkedInText(which));
    return 0;
  }
  const shards = Number(values.shards ?? DEFAULT_PARAMETERS.shards);
  const workers = Number(values.workers ?? shards);
  const parts = Number(values.parts ?? DEFAULT_PARAMETERS.parts);
  if (![shards, workers, parts].every((value) => Number.isInteger(value) && value >= 1)) {
    process.stderr.write(`--shards, --parts and --workers must be positive integers\n${USAGE}\n`);
    return 2;
  }
  const parameters: ManifestParameters = {
    ...DEFAULT_PARAMETERS,
    shards,
    parts,
    ...(values.image ? { image: values.image } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values['backfill-from'] || values['backfill-to'] ? { backfill: { from: values['backfill-from'] ?? '', to: values['backfill-to'] ?? '', workers } } : {}),
  };
  process.stdout.write(manifestsYaml(renderManifests(parameters), HEADER));
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) process.exitCode = await main(process.argv.slice(2));
