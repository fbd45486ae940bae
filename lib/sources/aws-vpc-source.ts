import { AWS_VPC_TYPED_COLUMNS, AwsVpcLineTyper } from './aws-vpc-line-typer.ts';
import { awsVpcParsedRecordsModel } from './aws-vpc-parsed-model.ts';
import { HOUR_MS, hourParts, type SourceDefinition } from './source-definition.ts';

/**
 * AWS VPC Flow Logs delivered to S3, text (`.log.gz`, or `.log` plain) or Parquet (`.log.parquet`):
 *   AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<file>
 *   AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/month=MM/day=DD/[hour=HH/]<file>
 * with `<file>` = `<account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log[.gz|.parquet]`
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html). The file name's
 * timestamp is the delivery time the window filters on, whatever the folder options are.
 * Header-less text delivered by Firehose (`YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]`)
 * is found under the same prefix and parsed with the configured format (`sources.aws_vpc.format`).
 */
const S3_FILE = /(?:^|\/)(?:vpcflowlogs|aws-service=vpcflowlogs)\/.*?(?:^|\/)(?<account>[^/_]+)_vpcflowlogs_(?<region>[a-z0-9-]+)_[^_/]+_(?<stamp>\d{8}T\d{4}Z)_[^/]*\.log(?<ext>\.gz|\.parquet)?$/;
const FIREHOSE_FILE = /(?:^|\/)\d{4}\/\d{2}\/\d{2}\/\d{2}\/[^/]+-\d+-(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})-(?<h>\d{2})-(?<min>\d{2})-(?<s>\d{2})-[0-9a-f-]+(?:\.gz)?$/;

export interface AwsVpcKey {
  account: string | null;
  region: string | null;
  deliveredAt: Date;
  format: 'text' | 'parquet';
}

export function parseAwsVpcKey(key: string): AwsVpcKey | undefined {
  const s3 = S3_FILE.exec(key);
  if (s3?.groups) {
    const stamp = s3.groups.stamp!;
    const deliveredAt = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:00Z`);
    if (Number.isNaN(deliveredAt.getTime())) return undefined;
    return { account: s3.groups.account!, region: s3.groups.region!, deliveredAt, format: s3.groups.ext === '.parquet' ? 'parquet' : 'text' };
  }
  const firehose = FIREHOSE_FILE.exec(key);
  if (firehose?.groups) {
    const g = firehose.groups;
    const deliveredAt = new Date(`${g.y}-${g.m}-${g.d}T${g.h}:${g.min}:${g.s}Z`);
    if (Number.isNaN(deliveredAt.getTime())) return undefined;
    return { account: null, region: null, deliveredAt, format: 'text' };
  }
  return undefined;
}

export const awsVpcSource: SourceDefinition = {
  sourceType: 'aws_vpc',
  configKey: 'aws_vpc',
  cliName: 'aws-vpc',
  generatedModels: () => [awsVpcParsedRecordsModel()],
  staging: (key) => (parseAwsVpcKey(key)?.format === 'parquet' || key.endsWith('.parquet') ? 'parquet' : 'lines'),
  lineTyper: (formatHint) => new AwsVpcLineTyper(formatHint),
  typedColumns: AWS_VPC_TYPED_COLUMNS,
  // Accounts and regions are found by delimiter listings; the folder date is the delivery date of
  // the files in it (their name's time), taken an hour wide in case it is the time the file began.
  layouts: [
    { name: 'default', steps: [{ any: /^\d+$/ }, { literal: 'vpcflowlogs' }, { any: /^[a-z0-9-]+$/ }, { date: (hour) => dayFolder(hour), earlierMs: HOUR_MS }] },
    {
      name: 'hive-compatible',
      steps: [
        { any: /^aws-account-id=\d+$/ },
        { literal: 'aws-service=vpcflowlogs' },
        { any: /^aws-region=[a-z0-9-]+$/ },
        { date: (hour) => dayFolder(hour, ['year=', 'month=', 'day=']), earlierMs: HOUR_MS },
      ],
    },
    // Firehose writes to <prefix>YYYY/MM/DD/HH/ by the hour a batch began, named when it closed.
    { name: 'firehose', steps: [{ date: (hour) => hourFolder(hour), earlierMs: HOUR_MS }] },
    { name: 'firehose-in-a-folder', steps: [{ any: /^[^\d=][^=]*$/ }, { date: (hour) => hourFolder(hour), earlierMs: HOUR_MS }] },
  ],
  inWindow(object, _sourcePrefix, window) {
    const parsed = parseAwsVpcKey(object.key);
    if (!parsed) return false;
    return parsed.deliveredAt >= window.from && parsed.deliveredAt < window.to;
  },
  regionHint: (key) => parseAwsVpcKey(key)?.region ?? undefined,
};

function dayFolder(hour: Date, names: readonly string[] = ['', '', '']): string {
  const { y, m, d } = hourParts(hour);
  return `${names[0]}${y}/${names[1]}${m}/${names[2]}${d}/`;
}

function hourFolder(hour: Date): string {
  const { y, m, d, h } = hourParts(hour);
  return `${y}/${m}/${d}/${h}/`;
}
