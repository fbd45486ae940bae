import { alertsTable } from './alerts.ts';
import { anomaliesTable } from './anomalies.ts';
import { capacityHourlyTable } from './capacity-hourly.ts';
import { flowsTable } from './flows.ts';
import { lateRecordsTable } from './late-records.ts';
import { quarantineTable } from './quarantine.ts';
import { trafficMatrixTable } from './traffic-matrix.ts';
import { violationsTable } from './violations.ts';
import type { TableDefinition } from './table-definition.ts';

/** Every table the hourly job publishes for a partition, each built by the mart of the same name. */
export const PUBLISHED_TABLES: readonly TableDefinition[] = [flowsTable, violationsTable, trafficMatrixTable, alertsTable, quarantineTable, lateRecordsTable];

/**
 * Tables built from curated data by jobs/hourly-analytics.ts (they need the trailing days, which the
 * hourly job's session cannot read); published per partition the same way, through manifests.
 */
export const ANALYTICS_TABLES: readonly TableDefinition[] = [anomaliesTable, capacityHourlyTable];

/** The tables the query command exposes. */
export const QUERYABLE_TABLES: readonly TableDefinition[] = [...PUBLISHED_TABLES, ...ANALYTICS_TABLES];

export { alertsTable, anomaliesTable, capacityHourlyTable, flowsTable, lateRecordsTable, quarantineTable, trafficMatrixTable, violationsTable };
