import type { ColumnType } from '../../schemas/tables/table-definition.ts';
import type { SqlDialect } from '../ddl/sql-dialect.ts';

/**
 * `ocsf_network_activity`: every row of `flows` as an OCSF 1.1.0 Network Activity event (class_uid
 * 4001, activity "Traffic"), for Amazon Security Lake users and other OCSF tools. Declared once here
 * and rendered for each engine by a SqlDialect: in `netflow query` sessions (DuckDB) and in the DDL
 * `netflow ddl` prints. OCSF objects are real structs (src_endpoint.ip, traffic.bytes, …), as in
 * Security Lake's own tables, so that queries written for those run unchanged.
 * docs/ocsf.md lists every attribute and where it comes from; a test keeps the two in step.
 */
export const OCSF_VIEW_NAME = 'ocsf_network_activity';
export const OCSF_VERSION = '1.1.0';

type Expr = (dialect: SqlDialect) => string;

export interface OcsfLeaf {
  name: string;
  type: ColumnType;
  value: Expr;
  /** Where the value comes from, for docs/ocsf.md. */
  from: string;
}
export interface OcsfStruct {
  name: string;
  fields: readonly OcsfAttribute[];
  /** The object is NULL unless this holds (OCSF's required attributes of the object would be missing). */
  presentWhen?: Expr;
}
export interface OcsfList {
  name: string;
  items: readonly OcsfStruct[];
}
export type OcsfAttribute = OcsfLeaf | OcsfStruct | OcsfList;

const column =
  (name: string): Expr =>
  (dialect) =>
    dialect.quote(name);
const literal =
  (value: number | string): Expr =>
  (dialect) =>
    typeof value === 'number' ? String(value) : dialect.string(value);
/** Maps a column's text values to literals; anything else (NULL included) to `otherwise`. */
const valueOf =
  (name: string, cases: Readonly<Record<string, number | string>>, otherwise: number | string | null): Expr =>
  (dialect) =>
    `CASE ${dialect.quote(name)} ${Object.entries(cases)
      .map(([when, then]) => `WHEN ${dialect.string(when)} THEN ${literal(then)(dialect)}`)
      .join(' ')} ELSE ${otherwise === null ? 'NULL' : literal(otherwise)(dialect)} END`;
const epochMs =
  (name: string): Expr =>
  (dialect) =>
    dialect.epochMs(dialect.quote(name));
const total =
  (forward: string, reverse: string): Expr =>
  (dialect) =>
    `${dialect.quote(forward)} + COALESCE(${dialect.quote(reverse)}, 0)`;

const leaf = (name: string, type: ColumnType, value: Expr, from: string): OcsfLeaf => ({ name, type, value, from });
const constant = (name: string, type: ColumnType, value: number | string): OcsfLeaf => leaf(name, type, literal(value), `constant ${JSON.stringify(value)}`);
const fromColumn = (name: string, type: ColumnType, source: string): OcsfLeaf => leaf(name, type, column(source), `flows.${source}`);

const ACTIVITY_TRAFFIC = 6;
const CLASS_UID = 4001;
const ACTION_IDS = { accept: 1, reject: 2 };
const ACTION_NAMES = { accept: 'Allowed', reject: 'Denied' };
const DISPOSITION_IDS = { accept: 1, reject: 2 };
const DISPOSITION_NAMES = { accept: 'Allowed', reject: 'Blocked' };
const DIRECTION_IDS = { ingress: 1, egress: 2 };
const DIRECTION_NAMES = { ingress: 'Inbound', egress: 'Outbound' };
const CLOUD_PROVIDERS = { aws_vpc: 'AWS', azure_nsg: 'Azure', azure_vnet: 'Azure', gcp_vpc: 'GCP', oci_vcn: 'OCI' };
const IP_ADDRESS_OBSERVABLE = 2;

const endpoint = (side: 'src' | 'dst'): OcsfStruct => ({
  name: `${side}_endpoint`,
  fields: [fromColumn('ip', 'VARCHAR', `${side}_ip`), fromColumn('port', 'INTEGER', `${side}_port`), fromColumn('uid', 'VARCHAR', `${side}_vm_id`), fromColumn('name', 'VARCHAR', `${side}_vm_name`)],
});

const ipObservable = (side: 'src' | 'dst'): OcsfStruct => ({
  name: 'observable',
  fields: [
    constant('name', 'VARCHAR', `${side}_endpoint.ip`),
    constant('type_id', 'INTEGER', IP_ADDRESS_OBSERVABLE),
    constant('type', 'VARCHAR', 'IP Address'),
    fromColumn('value', 'VARCHAR', `${side}_ip`),
  ],
});

export const OCSF_NETWORK_ACTIVITY: readonly OcsfAttribute[] = [
  constant('class_uid', 'INTEGER', CLASS_UID),
  constant('class_name', 'VARCHAR', 'Network Activity'),
  constant('category_uid', 'INTEGER', 4),
  constant('category_name', 'VARCHAR', 'Network Activity'),
  constant('activity_id', 'INTEGER', ACTIVITY_TRAFFIC),
  constant('activity_name', 'VARCHAR', 'Traffic'),
  constant('type_uid', 'BIGINT', CLASS_UID * 100 + ACTIVITY_TRAFFIC),
  constant('type_name', 'VARCHAR', 'Network Activity: Traffic'),
  constant('severity_id', 'INTEGER', 1),
  constant('severity', 'VARCHAR', 'Informational'),
  leaf('time', 'BIGINT', epochMs('start_at'), 'flows.start_at (epoch milliseconds)'),
  fromColumn('time_dt', 'TIMESTAMP', 'start_at'),
  leaf('start_time', 'BIGINT', epochMs('start_at'), 'flows.start_at (epoch milliseconds)'),
  fromColumn('start_time_dt', 'TIMESTAMP', 'start_at'),
  leaf('end_time', 'BIGINT', epochMs('end_at'), 'flows.end_at (epoch milliseconds)'),
  fromColumn('end_time_dt', 'TIMESTAMP', 'end_at'),
  leaf('action_id', 'INTEGER', valueOf('action', ACTION_IDS, 0), 'flows.action: accept 1, reject 2, null 0 (Unknown)'),
  leaf('action', 'VARCHAR', valueOf('action', ACTION_NAMES, 'Unknown'), 'flows.action: Allowed, Denied or Unknown'),
  leaf('disposition_id', 'INTEGER', valueOf('action', DISPOSITION_IDS, 0), 'flows.action: accept 1, reject 2, null 0 (Unknown)'),
  leaf('disposition', 'VARCHAR', valueOf('action', DISPOSITION_NAMES, 'Unknown'), 'flows.action: Allowed, Blocked or Unknown'),
  endpoint('src'),
  endpoint('dst'),
  {
    name: 'connection_info',
    fields: [
      fromColumn('protocol_num', 'INTEGER', 'protocol'),
      leaf('direction_id', 'INTEGER', valueOf('direction', DIRECTION_IDS, 0), 'flows.direction: ingress 1, egress 2, null 0 (Unknown)'),
      leaf('direction', 'VARCHAR', valueOf('direction', DIRECTION_NAMES, 'Unknown'), 'flows.direction: Inbound, Outbound or Unknown'),
      fromColumn('community_uid', 'VARCHAR', 'community_id'),
      fromColumn('tcp_flags', 'INTEGER', 'tcp_flags'),
    ],
  },
  {
    name: 'traffic',
    fields: [
      leaf('bytes', 'BIGINT', total('bytes', 'reverse_bytes'), 'flows.bytes + flows.reverse_bytes (0 when null)'),
      leaf('packets', 'BIGINT', total('packets', 'reverse_packets'), 'flows.packets + flows.reverse_packets (0 when null)'),
      fromColumn('bytes_out', 'BIGINT', 'bytes'),
      fromColumn('packets_out', 'BIGINT', 'packets'),
      fromColumn('bytes_in', 'BIGINT', 'reverse_bytes'),
      fromColumn('packets_in', 'BIGINT', 'reverse_packets'),
    ],
  },
  {
    name: 'cloud',
    presentWhen: (dialect) => `${dialect.quote('source_type')} <> 'agent'`,
    fields: [
      leaf('provider', 'VARCHAR', valueOf('source_type', CLOUD_PROVIDERS, null), 'flows.source_type: aws_vpc AWS, azure_* Azure, gcp_vpc GCP, oci_vcn OCI (the object is null for agent records)'),
      { name: 'account', fields: [fromColumn('uid', 'VARCHAR', 'account_id')] },
      fromColumn('region', 'VARCHAR', 'region'),
      fromColumn('zone', 'VARCHAR', 'az_id'),
    ],
  },
  {
    name: 'metadata',
    fields: [
      constant('version', 'VARCHAR', OCSF_VERSION),
      fromColumn('uid', 'VARCHAR', 'flow_id'),
      fromColumn('log_name', 'VARCHAR', 'source_type'),
      { name: 'product', fields: [constant('name', 'VARCHAR', 'netflow-lake'), constant('vendor_name', 'VARCHAR', 'netflow-lake')] },
    ],
  },
  { name: 'observables', items: [ipObservable('src'), ipObservable('dst')] },
];

interface Rendered {
  sql: string;
  type: string;
}

function render(dialect: SqlDialect, attribute: OcsfAttribute): Rendered {
  if ('type' in attribute) {
    const type = dialect.type(attribute.type);
    return { sql: `CAST(${attribute.value(dialect)} AS ${type})`, type };
  }
  if ('items' in attribute) {
    const items = attribute.items.map((item) => render(dialect, item));
    return { sql: dialect.list(items.map((item) => item.sql)), type: dialect.listType(items[0]!.type) };
  }
  const fields = attribute.fields.map((field) => [field.name, render(dialect, field)] as const);
  const type = dialect.structType(fields.map(([name, rendered]) => [name, rendered.type]));
  const sql = dialect.struct(
    fields.map(([name, rendered]) => [name, rendered.sql]),
    type,
  );
  return { sql: attribute.presentWhen ? `CASE WHEN ${attribute.presentWhen(dialect)} THEN ${sql} END` : sql, type };
}

/** The view's SELECT over a relation holding the `flows` columns, in one engine's SQL. */
export function ocsfNetworkActivitySql(dialect: SqlDialect, flows: string): string {
  const select = OCSF_NETWORK_ACTIVITY.map((attribute) => `  ${render(dialect, attribute).sql} AS ${dialect.quote(attribute.name)}`);
  return `SELECT\n${select.join(',\n')}\nFROM ${flows}`;
}

/** Every filled attribute as a dotted path with its source, in declaration order (observables as `observables[]`). */
export function ocsfAttributePaths(attributes: readonly OcsfAttribute[] = OCSF_NETWORK_ACTIVITY, prefix = ''): { path: string; from: string }[] {
  return attributes.flatMap((attribute) => {
    if ('type' in attribute) return [{ path: `${prefix}${attribute.name}`, from: attribute.from }];
    if ('items' in attribute)
      return attribute.items
        .flatMap((item) => ocsfAttributePaths(item.fields, `${prefix}${attribute.name}[].`))
        .filter((entry, index, all) => all.findIndex((other) => other.path === entry.path) === index);
    return ocsfAttributePaths(attribute.fields, `${prefix}${attribute.name}.`);
  });
}
