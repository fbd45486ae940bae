import { z } from 'zod';

/**
 * AWS VPC Flow Logs record fields, versions 2 to 10 (6: Transit Gateway flow logs), with the version that introduced each and
 * its type in AWS's Parquet delivery (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html#flow-logs-fields).
 * Text records are space-separated in the flow log's format order, `-` for "no value"; the
 * Parquet delivery names the columns with underscores. sql/normalize/aws_vpc__records.sql
 * locates every one of these fields (a test checks it).
 */
export const AWS_VPC_FIELD_TABLE = [
  ['version', 2, 'INT_32'],
  ['account-id', 2, 'STRING'],
  ['interface-id', 2, 'STRING'],
  ['srcaddr', 2, 'STRING'],
  ['dstaddr', 2, 'STRING'],
  ['srcport', 2, 'INT_32'],
  ['dstport', 2, 'INT_32'],
  ['protocol', 2, 'INT_32'],
  ['packets', 2, 'INT_64'],
  ['bytes', 2, 'INT_64'],
  ['start', 2, 'INT_64'],
  ['end', 2, 'INT_64'],
  ['action', 2, 'STRING'],
  ['log-status', 2, 'STRING'],
  ['vpc-id', 3, 'STRING'],
  ['subnet-id', 3, 'STRING'],
  ['instance-id', 3, 'STRING'],
  ['tcp-flags', 3, 'INT_32'],
  ['type', 3, 'STRING'],
  ['pkt-srcaddr', 3, 'STRING'],
  ['pkt-dstaddr', 3, 'STRING'],
  ['region', 4, 'STRING'],
  ['az-id', 4, 'STRING'],
  ['sublocation-type', 4, 'STRING'],
  ['sublocation-id', 4, 'STRING'],
  ['pkt-src-aws-service', 5, 'STRING'],
  ['pkt-dst-aws-service', 5, 'STRING'],
  ['flow-direction', 5, 'STRING'],
  ['traffic-path', 5, 'INT_32'],
  ['ecs-cluster-arn', 7, 'STRING'],
  ['ecs-cluster-name', 7, 'STRING'],
  ['ecs-container-instance-arn', 7, 'STRING'],
  ['ecs-container-instance-id', 7, 'STRING'],
  ['ecs-container-id', 7, 'STRING'],
  ['ecs-second-container-id', 7, 'STRING'],
  ['ecs-service-name', 7, 'STRING'],
  ['ecs-task-definition-arn', 7, 'STRING'],
  ['ecs-task-arn', 7, 'STRING'],
  ['ecs-task-id', 7, 'STRING'],
  // Transit Gateway flow logs (version 6): the same record, for a transit gateway or one of its
  // attachments, delivered under the same vpcflowlogs/ prefix (https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html).
  ['resource-type', 6, 'STRING'],
  ['tgw-id', 6, 'STRING'],
  ['tgw-attachment-id', 6, 'STRING'],
  ['tgw-src-vpc-account-id', 6, 'STRING'],
  ['tgw-dst-vpc-account-id', 6, 'STRING'],
  ['tgw-src-vpc-id', 6, 'STRING'],
  ['tgw-dst-vpc-id', 6, 'STRING'],
  ['tgw-src-subnet-id', 6, 'STRING'],
  ['tgw-dst-subnet-id', 6, 'STRING'],
  ['tgw-src-eni', 6, 'STRING'],
  ['tgw-dst-eni', 6, 'STRING'],
  ['tgw-src-az-id', 6, 'STRING'],
  ['tgw-dst-az-id', 6, 'STRING'],
  ['tgw-pair-attachment-id', 6, 'STRING'],
  ['packets-lost-no-route', 6, 'INT_64'],
  ['packets-lost-blackhole', 6, 'INT_64'],
  ['packets-lost-mtu-exceeded', 6, 'INT_64'],
  ['packets-lost-ttl-expired', 6, 'INT_64'],
  ['reject-reason', 8, 'STRING'],
  // Newer fields whose version number AWS's pages do not state (resource-id, encryption-status): read by name when present.
  ['resource-id', 10, 'STRING'],
  ['encryption-status', 10, 'INT_32'],
] as const;

export type AwsVpcField = (typeof AWS_VPC_FIELD_TABLE)[number][0];

export const AWS_VPC_FIELDS: readonly AwsVpcField[] = AWS_VPC_FIELD_TABLE.map(([name]) => name);

/** The default format: exactly the version 2 fields in order. */
export const AWS_VPC_DEFAULT_FORMAT = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

/** A format string: the flow log's LogFormat (`${version} ${srcaddr} …`) or a header line (`version srcaddr …`). */
export const awsVpcFormatSchema = z
  .string()
  .transform((text) =>
    text
      .replace(/\$\{([a-z0-9-]+)\}/g, '$1')
      .trim()
      .split(/\s+/)
      .join(' '),
  )
  .refine((text) => text.split(' ').every((field) => (AWS_VPC_FIELDS as readonly string[]).includes(field)), {
    message: `every field must be one of the documented AWS VPC Flow Logs fields (${AWS_VPC_FIELDS.length} known)`,
  });
