import type { CommandDefinition } from '../command-definition.ts';
import { analyticsCommandDefinition } from './analytics-command.ts';
import { configCommandDefinition } from './config-command.ts';
import { backfillCommandDefinition } from './backfill-command.ts';
import { ddlCommandDefinition } from './ddl-command.ts';
import { demoCommandDefinition } from './demo-command.ts';
import { historyCommandDefinition } from './history-command.ts';
import { inspectCommandDefinition } from './inspect-command.ts';
import { migrateCommandDefinition } from './migrate-command.ts';
import { queryCommandDefinition } from './query-command.ts';
import { recommendCommandDefinition } from './recommend-command.ts';
import { refCommandDefinition } from './ref-command.ts';
import { reportCommandDefinition } from './report-command.ts';
import { rulesCommandDefinition } from './rules-command.ts';
import { runCommandDefinition } from './run-command.ts';
import { runsCommandDefinition } from './runs-command.ts';
import { schedulerCommandDefinition } from './scheduler-command.ts';
import { statusCommandDefinition } from './status-command.ts';

/** Every `netflow` command, in the order `netflow --help` lists them. Adding one: a module and a line here. */
export const COMMANDS: readonly CommandDefinition[] = [
  runCommandDefinition,
  demoCommandDefinition,
  queryCommandDefinition,
  historyCommandDefinition,
  ddlCommandDefinition,
  inspectCommandDefinition,
  runsCommandDefinition,
  statusCommandDefinition,
  backfillCommandDefinition,
  schedulerCommandDefinition,
  refCommandDefinition,
  rulesCommandDefinition,
  analyticsCommandDefinition,
  reportCommandDefinition,
  recommendCommandDefinition,
  configCommandDefinition,
  migrateCommandDefinition,
];
