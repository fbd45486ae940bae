import { stageJsonRecords } from './stage-json-records.ts';
import { stageLines, type StagedLines, type StageLimits } from './stage-lines.ts';
import type { StagingSourceByType } from './staging-source.ts';

/**
 * The CPU work of staging one downloaded object, as plain data so that it can be posted to a
 * worker thread (lib/staging/staging-pool.ts): functions cannot cross, so the source's line
 * typer is built where the task runs, from the source type and its format hint.
 */
export interface StageObjectTask {
  sourceType: string;
  staging: 'lines' | 'json-records';
  /** The source's configured format for objects without a header (SourceDefinition.lineTyper). */
  formatHint: string | undefined;
  /** False: the source's line or tuple typer is not used, every record is staged as text (stageObjects' typeLines). */
  typeLines?: boolean;
  rawPath: string;
  linesPath: string;
  limits: StageLimits;
}

/** Stages one raw file as its source (found by `byType`) stages it; throws ObjectUnreadableError for an object to quarantine whole. */
export function stageObjectFile(task: StageObjectTask, byType: StagingSourceByType): Promise<StagedLines> {
  const source = byType(task.sourceType);
  return task.staging === 'json-records'
    ? stageJsonRecords(task.rawPath, task.linesPath, task.limits, source.tuplePath ? [source.tuplePath] : [], task.typeLines === false ? undefined : source.tupleTyper)
    : stageLines(task.rawPath, task.linesPath, task.limits, task.typeLines === false ? undefined : source.lineTyper?.(task.formatHint));
}
