import type { StageObjectTask } from './stage-object-file.ts';
import { ObjectUnreadableError, type StagedLines } from './stage-lines.ts';

/**
 * What a StagingPool posts to a worker thread, and what comes back (lib/staging/staging-worker.ts).
 * Apart from the pool so that the worker's bundle (staging-worker-script.ts) holds only what a
 * worker runs, not the pool that starts workers.
 */
export interface StagingRequest {
  id: number;
  task: StageObjectTask;
}

export type StagingReply = { id: number; ok: true; result: StagedLines } | { id: number; ok: false; error: PostedError };

/** An error as plain data: whether the object is unreadable (quarantined whole) or the run must fail. */
export interface PostedError {
  unreadable: boolean;
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export function postedError(error: unknown): PostedError {
  if (!(error instanceof Error)) return { unreadable: false, name: 'Error', message: String(error) };
  const code = (error as NodeJS.ErrnoException).code;
  return {
    unreadable: error instanceof ObjectUnreadableError,
    name: error.name,
    message: error.message,
    ...(error.stack ? { stack: error.stack } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** The error a worker thread threw, with its message, name, code and stack, as the caller would have seen it in-thread. */
export function revivedError(posted: PostedError): Error {
  const error: NodeJS.ErrnoException = posted.unreadable ? new ObjectUnreadableError(posted.message) : new Error(posted.message);
  error.name = posted.name;
  if (posted.code !== undefined) error.code = posted.code;
  if (posted.stack !== undefined) error.stack = `${posted.stack}\n    (in a staging worker thread)`;
  return error;
}
