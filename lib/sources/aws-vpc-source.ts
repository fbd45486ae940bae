import type { SourceDefinition } from './source-definition.ts';

/**
 * AWS VPC Flow Logs delivered to S3:
 * `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log[.gz]`.
 * The timestamp in the file name is the delivery time that the window filters on.
 */
const KEY_PATTERN =
  /(?:^|\/)(?<account>\d{12}|[^/]+)\/vpcflowlogs\/(?<region>[a-z0-9-]+)\/(?<y>\d{4})\/(?<m>\d{2})\/(?<d>\d{2})\/[^/]*_vpcflowlogs_[a-z0-9-]+_[^_/]+_(?<stamp>\d{8}T\d{4}Z)_[^/]*\.log(?:\.gz)?$/;

export function parseAwsVpcKey(key: string): { account: string; region: string; deliveredAt: Date } | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match?.groups) return undefined;
  const stamp = match.groups.stamp!;
  const deliveredAt = new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:00Z`,
  );
  if (Number.isNaN(deliveredAt.getTime())) return undefined;
  return { account: match.groups.account!, region: match.groups.region!, deliveredAt };
}

export const awsVpcSource: SourceDefinition = {
  sourceType: 'aws_vpc',
  configKey: 'aws_vpc',
  staging: 'lines',
  // Accounts and regions are not known up front; the day folders below them are filtered by key.
  listPrefixes: (sourcePrefix) => [sourcePrefix],
  inWindow(object, _sourcePrefix, window) {
    const parsed = parseAwsVpcKey(object.key);
    if (!parsed) return false;
    return parsed.deliveredAt >= window.from && parsed.deliveredAt < window.to;
  },
  regionHint: (key) => parseAwsVpcKey(key)?.region,
};
