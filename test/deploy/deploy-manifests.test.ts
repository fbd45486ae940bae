import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { hourSubmission, type SubmitJobRequest } from '../../deploy/aws-batch/submit-hour.ts';
import { CHECKED_IN, checkedInText, DEFAULT_PARAMETERS, renderManifests, type ManifestParameters } from '../../deploy/kubernetes/render-manifests.ts';
import { configSchema } from '../../schemas/config.ts';
import { awsServiceModel } from '../support/aws-api-model.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

/**
 * The deployment files against the APIs that will receive them, offline: every Kubernetes object
 * through its kubernetes-models class (the OpenAPI schema of the Kubernetes API, validated by
 * ajv), the AWS Batch job definition and SubmitJob requests through the Batch API model that the
 * aws-sdk package ships (test/support/aws-api-model.ts).
 */
const KINDS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'batch/v1/CronJob': CronJob,
  'batch/v1/Job': Job,
};

/** The Kubernetes API's verdict on one object: undefined when valid, else ajv's message. */
function kubernetesProblem(object: Record<string, unknown>): string | undefined {
  const Model = KINDS[`${String(object.apiVersion)}/${String(object.kind)}`];
  if (!Model) return `no schema for ${String(object.apiVersion)} ${String(object.kind)}`;
  try {
    new Model(object as never).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

type Pod = { spec: { containers: { env: { name: string; value: string }[] }[]; restartPolicy: string } };
type JobSpec = Record<string, unknown> & { template: Pod };
const jobSpecOf = (object: Record<string, unknown>): JobSpec => (object.kind === 'CronJob' ? (object.spec as { jobTemplate: { spec: JobSpec } }).jobTemplate.spec : (object.spec as JobSpec));
const envOf = (spec: JobSpec): Record<string, string> => Object.fromEntries(spec.template.spec.containers[0]!.env.map((entry) => [entry.name, entry.value]));

describe('Kubernetes manifests', () => {
  const parameterSets: { name: string; parameters: ManifestParameters }[] = [
    { name: 'the defaults (the checked-in hourly file)', parameters: DEFAULT_PARAMETERS },
    { name: 'one shard, a namespace, another image', parameters: { ...DEFAULT_PARAMETERS, shards: 1, namespace: 'flows', image: 'registry.example/netflow-lake:1.2.3' } },
    { name: 'seven shards', parameters: { ...DEFAULT_PARAMETERS, shards: 7 } },
    { name: 'a backfill of 24 hours × 4 shards on 16 workers', parameters: { ...DEFAULT_PARAMETERS, backfill: { from: '2024-05-01T00', to: '2024-05-01T23', workers: 16 } } },
    { name: 'a backfill of one hour × 7 shards on 3 workers', parameters: { ...DEFAULT_PARAMETERS, shards: 7, backfill: { from: '2024-05-01T13', to: '2024-05-01T13', workers: 3 } } },
    { name: '4 shards and 3 commit parts', parameters: { ...DEFAULT_PARAMETERS, parts: 3 } },
    {
      name: 'a backfill of 24 hours × 4 shards × 3 commit parts on 16 workers',
      parameters: { ...DEFAULT_PARAMETERS, parts: 3, backfill: { from: '2024-05-01T00', to: '2024-05-01T23', workers: 16 } },
    },
  ];

  it.each(parameterSets)('every object of $name is valid against the Kubernetes API schema', ({ parameters }) => {
    const manifests = renderManifests(parameters);
    expect(manifests.length).toBeGreaterThan(0);
    for (const { object } of manifests) expect(kubernetesProblem(object), `${String(object.kind)} ${JSON.stringify(object.metadata)}`).toBeUndefined();
  });

  it.each(parameterSets)('the shards of $name are an Indexed Job of hours × N with per-index retries, and its commit covers N shards', ({ parameters }) => {
    const jobs = renderManifests(parameters).filter(({ object }) => object.kind === 'CronJob' || object.kind === 'Job');
    const [shards, commit] = [jobs[0]!.object, jobs.at(-1)!.object].map(jobSpecOf);
    const hours = parameters.backfill ? (Date.parse(`${parameters.backfill.to}:00:00Z`) - Date.parse(`${parameters.backfill.from}:00:00Z`)) / 3_600_000 + 1 : 1;
    expect(shards!).toMatchObject({
      completionMode: 'Indexed',
      completions: hours * parameters.shards,
      parallelism: parameters.backfill?.workers ?? parameters.shards,
      backoffLimitPerIndex: parameters.retriesPerShard,
    });
    expect(shards!.template.spec.restartPolicy).toBe('Never');
    expect(envOf(shards!)).toMatchObject({ NETFLOW_MODE: 'shard', NETFLOW_SHARDS: String(parameters.shards) });
    expect(envOf(commit!)).toMatchObject({ NETFLOW_MODE: 'commit', NETFLOW_SHARDS: String(parameters.shards) });
    if (parameters.backfill) expect(commit).toMatchObject({ completionMode: 'Indexed', completions: hours });
    if (parameters.parts > 1) {
      // Between them, the commit parts: an Indexed Job of hours × M, retried while shards are missing; the commit publishes from M parts.
      expect(jobs).toHaveLength(3);
      const parts = jobSpecOf(jobs[1]!.object);
      expect(parts).toMatchObject({ completionMode: 'Indexed', completions: hours * parameters.parts });
      expect(envOf(parts)).toMatchObject({ NETFLOW_MODE: 'part', NETFLOW_SHARDS: String(parameters.shards), NETFLOW_PARTS: String(parameters.parts) });
      expect(Number(envOf(parts).NETFLOW_COMMIT_WAIT_MINUTES)).toBeGreaterThan(0);
      expect(envOf(commit!)).toMatchObject({ NETFLOW_PARTS: String(parameters.parts) });
    } else {
      expect(jobs).toHaveLength(2);
      expect(envOf(commit!).NETFLOW_PARTS).toBeUndefined();
    }
  });

  it("the ConfigMap's netflow.yaml is a valid netflow configuration", () => {
    const configMap = renderManifests(DEFAULT_PARAMETERS).find(({ object }) => object.kind === 'ConfigMap')!.object as { data: Record<string, string> };
    const [document] = parseAllDocuments(configMap.data['netflow.yaml']!);
    expect(configSchema.safeParse(document!.toJS()).error).toBeUndefined();
  });

  it.each(Object.keys(CHECKED_IN) as (keyof typeof CHECKED_IN)[])(
    'the checked-in %s file is the renderer output (regenerate: render-manifests.ts --write) and every document in it is valid',
    async (which) => {
      const text = await readFile(CHECKED_IN[which].file, 'utf8');
      expect(text).toBe(checkedInText(which));
      for (const document of parseAllDocuments(text)) expect(kubernetesProblem(document.toJS())).toBeUndefined();
    },
  );

  it.each([
    { name: 'a completion mode that does not exist', edit: (spec: JobSpec) => (spec.completionMode = 'Sideways'), says: 'completionMode must be equal to one of the allowed values' },
    { name: 'retries as text', edit: (spec: JobSpec) => (spec.backoffLimitPerIndex = 'three'), says: 'backoffLimitPerIndex must be integer' },
    { name: 'a container without a name', edit: (spec: JobSpec) => delete (spec.template.spec.containers[0] as { name?: string }).name, says: 'containers/0 must have required property name' },
  ])('a broken manifest is refused: $name', ({ edit, says }) => {
    const cronJob = structuredClone(renderManifests(DEFAULT_PARAMETERS).find(({ object }) => object.kind === 'CronJob')!.object);
    edit(jobSpecOf(cronJob));
    expect(kubernetesProblem(cronJob)).toContain(says);
  });
});

describe('AWS Batch job definition and submissions', () => {
  const batch = awsServiceModel('batch', '2016-08-10', 'batch');
  const jobDefinitionFile = path.join(REPO_ROOT, 'deploy', 'aws-batch', 'job-definition.json');

  it('job-definition.json is a valid RegisterJobDefinition request, retrying all but a usage error', async () => {
    const definition = JSON.parse(await readFile(jobDefinitionFile, 'utf8'));
    expect(batch.validate('RegisterJobDefinition', definition)).toEqual([]);
    expect(definition.retryStrategy.evaluateOnExit[0]).toEqual({ onExitCode: '2', action: 'EXIT' });
  });

  it.each([
    { file: 'compute-environment.json', operation: 'CreateComputeEnvironment' },
    { file: 'job-queue.json', operation: 'CreateJobQueue' },
  ])('$file is a valid $operation request', async ({ file, operation }) => {
    const request = JSON.parse(await readFile(path.join(REPO_ROOT, 'deploy', 'aws-batch', file), 'utf8'));
    expect(batch.validate(operation, request)).toEqual([]);
  });

  const submissions = [
    { name: 'one hour of 4 shards', hours: { hour: '2024-05-01T13' }, shards: 4, arraySize: 4, commitArraySize: undefined },
    { name: 'one hour of 1 shard (a plain job: Batch arrays have 2 children at least)', hours: { hour: '2024-05-01T13' }, shards: 1, arraySize: undefined, commitArraySize: undefined },
    { name: 'a backfill of 24 hours × 7 shards', hours: { from: '2024-05-01T00', to: '2024-05-01T23' }, shards: 7, arraySize: 168, commitArraySize: 24 },
  ];
  it.each(submissions)('submitting $name: both requests are valid SubmitJob requests; the commit depends on the whole array job', ({ hours, shards, arraySize, commitArraySize }) => {
    const requests = hourSubmission({ queue: 'netflow', jobDefinition: 'netflow-worker', shards, hours });
    const commit = requests.commit('4c9e0b5e-0000-4000-8000-000000000000');
    expect(batch.validate('SubmitJob', requests.shards)).toEqual([]);
    expect(batch.validate('SubmitJob', commit)).toEqual([]);
    expect(requests.shards.arrayProperties?.size).toBe(arraySize);
    expect(commit.arrayProperties?.size).toBe(commitArraySize);
    expect(commit.dependsOn).toEqual([{ jobId: '4c9e0b5e-0000-4000-8000-000000000000' }]);
    const environment = (request: SubmitJobRequest) => Object.fromEntries(request.containerOverrides.environment.map((entry) => [entry.name, entry.value]));
    expect(environment(requests.shards)).toMatchObject({ NETFLOW_MODE: 'shard', NETFLOW_SHARDS: String(shards) });
    expect(environment(commit)).toMatchObject({ NETFLOW_MODE: 'commit', NETFLOW_SHARDS: String(shards) });
  });

  it.each([
    { name: 'one hour of 4 shards and 3 parts', hours: { hour: '2024-05-01T13' }, partsSize: 3 },
    { name: 'a backfill of 24 hours × 4 shards × 3 parts', hours: { from: '2024-05-01T00', to: '2024-05-01T23' }, partsSize: 72 },
  ])('submitting $name: the parts array job depends on the shards, the commit on the parts; all valid SubmitJob requests', ({ hours, partsSize }) => {
    const requests = hourSubmission({ queue: 'netflow', jobDefinition: 'netflow-worker', shards: 4, parts: 3, hours });
    const parts = requests.parts!('shards-job');
    const commit = requests.commit('parts-job');
    for (const request of [requests.shards, parts, commit]) expect(batch.validate('SubmitJob', request)).toEqual([]);
    expect(parts.arrayProperties?.size).toBe(partsSize);
    expect(parts.dependsOn).toEqual([{ jobId: 'shards-job' }]);
    expect(commit.dependsOn).toEqual([{ jobId: 'parts-job' }]);
    const environment = (request: SubmitJobRequest) => Object.fromEntries(request.containerOverrides.environment.map((entry) => [entry.name, entry.value]));
    expect(environment(parts)).toMatchObject({ NETFLOW_MODE: 'part', NETFLOW_SHARDS: '4', NETFLOW_PARTS: '3' });
    expect(environment(commit)).toMatchObject({ NETFLOW_MODE: 'commit', NETFLOW_PARTS: '3' });
    expect(hourSubmission({ queue: 'netflow', jobDefinition: 'netflow-worker', shards: 4, hours }).parts).toBeUndefined();
  });

  it('refuses an array job past Batch’s 10,000 children', () => {
    expect(() => hourSubmission({ queue: 'q', jobDefinition: 'd', shards: 16, hours: { from: '2024-01-01T00', to: '2024-01-31T23' } })).toThrow('at most 10000 children');
  });

  const valid = hourSubmission({ queue: 'netflow', jobDefinition: 'netflow-worker', shards: 4, hours: { hour: '2024-05-01T13' } }).commit('job-1');
  it.each([
    {
      name: 'a dependency type that does not exist',
      request: { ...valid, dependsOn: [{ jobId: 'job-1', type: 'ALL_TO_ALL' }] },
      says: 'SubmitJob.dependsOn[0].type: "ALL_TO_ALL" is not one of N_TO_N, SEQUENTIAL',
    },
    { name: 'an array size as text', request: { ...valid, arrayProperties: { size: '4' } }, says: 'SubmitJob.arrayProperties.size: expected an integer, got "4"' },
    { name: 'no job queue', request: { ...valid, jobQueue: undefined }, says: 'SubmitJob.jobQueue: required' },
    { name: 'a member Batch does not have', request: { ...valid, arrayProperties: { size: 4, shards: 4 } }, says: 'SubmitJob.arrayProperties.shards: not a member' },
  ])('a broken SubmitJob request is refused: $name', ({ request, says }) => {
    expect(batch.validate('SubmitJob', request).join('\n')).toContain(says);
  });

  it('a broken job definition is refused: a deprecated member, a bad retry action, a resource type', async () => {
    const definition = JSON.parse(await readFile(jobDefinitionFile, 'utf8'));
    definition.containerProperties.vcpus = 2;
    definition.retryStrategy.evaluateOnExit[0].action = 'RETRY_FOREVER';
    definition.containerProperties.resourceRequirements[0].type = 'CPU';
    expect(batch.validate('RegisterJobDefinition', definition)).toEqual([
      'RegisterJobDefinition.containerProperties.vcpus: deprecated',
      'RegisterJobDefinition.retryStrategy.evaluateOnExit[0].action: "RETRY_FOREVER" is not one of RETRY, EXIT',
      'RegisterJobDefinition.containerProperties.resourceRequirements[0].type: "CPU" is not one of GPU, VCPU, MEMORY',
    ]);
  });
});
