import { SQL_DIALECTS } from '../ddl/sql-dialect.ts';
import { OCSF_VIEW_NAME, ocsfNetworkActivitySql } from './ocsf-network-activity.ts';

/** The OCSF view of a `netflow query` session, over its `flows` view. */
export function ocsfViewSql(): string {
  const duckdb = SQL_DIALECTS.duckdb;
  return `CREATE VIEW ${duckdb.quote(OCSF_VIEW_NAME)} AS\n${ocsfNetworkActivitySql(duckdb, duckdb.quote('flows'))}`;
}
