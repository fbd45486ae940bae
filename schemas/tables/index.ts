import { alertsTable } from './alerts.ts';
import { flowsTable } from './flows.ts';
import { quarantineTable } from './quarantine.ts';
import { trafficMatrixTable } from './traffic-matrix.ts';
import { violationsTable } from './violations.ts';
import type { TableDefinition } from './table-definition.ts';

/** Every table the hourly job publishes for a partition, each built by the mart of the same name. */
export const PUBLISHED_TABLES: readonly TableDefinition[] = [flowsTable, violationsTable, trafficMatrixTable, alertsTable, quarantineTable];

/** The tables the query command exposes. */
export const QUERYABLE_TABLES: readonly TableDefinition[] = PUBLISHED_TABLES;

export { alertsTable, flowsTable, quarantineTable, trafficMatrixTable, violationsTable };
