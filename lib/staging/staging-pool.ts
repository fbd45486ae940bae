import { Worker } from 'node:worker_threads';
import { stageObjectFile, type StageObjectTask } from './stage-object-file.ts';
import { ObjectUnreadableError, type StagedLines } from './stage-lines.ts';

/** What the pool posts to a worker thread, and what comes back (lib/staging/staging-worker.ts). */
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
  return { unreadable: error instanceof ObjectUnreadableError, name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...(typeof code === 'string' ? { code } : {}) };
}

/** The error a worker thread threw, with its message, name, code and stack, as the caller would have seen it in-thread. */
export function revivedError(posted: PostedError): Error {
  const error: NodeJS.ErrnoException = posted.unreadable ? new ObjectUnreadableError(posted.message) : new Error(posted.message);
  error.name = posted.name;
  if (posted.code !== undefined) error.code = posted.code;
  if (posted.stack !== undefined) error.stack = `${posted.stack}\n    (in a staging worker thread)`;
  return error;
}

/** A staging worker thread died (crash, out of memory, failed to load): the run fails. */
export class StagingWorkerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StagingWorkerError';
  }
}

interface Pending {
  id: number;
  task: StageObjectTask;
  objectKey: string;
  resolve: (result: StagedLines) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending?: Pending;
  /** What the worker reported before it exited ('error' event), for the exit's message. */
  error?: Error;
}

const WORKER_ENTRY = new URL('./staging-worker.mjs', import.meta.url);

/**
 * Stages objects side by side (stageObjectFile: line splitting, UTF-8 checks, AWS records typed
 * with their Community ID, the Azure JSON tokenizer) in up to `workers` worker threads, and with
 * `inThread` one more at a time in the calling thread, so that several objects are staged on
 * several cores at once; downloads stay with the caller. One object per thread at a time, the others queue; worker
 * threads start with `start()` or the first object.
 *
 * Why the calling thread takes a share: it is idle while staging waits on the threads, and each
 * worker thread costs ~45 MiB of RSS (its own V8 heap, and tsx's loader hooks on a thread of
 * their own) and ~0.3-0.4 s of one core to start; the calling thread stages its first object
 * while they start.
 *
 * An idle thread does not hold the process open, but `close()` must be called (in a finally) to
 * end them. A worker thread that dies fails its object and every object after it
 * (StagingWorkerError): the pool does not replace it, the run fails with the reason.
 */
export class StagingPool {
  private readonly workers: number;
  private readonly inThread: boolean;
  private readonly entry: URL;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private started = false;
  private inThreadBusy = false;
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(options: {
    workers: number;
    /** Also stage one object at a time in the calling thread. */
    inThread?: boolean;
    /** The worker threads' entry module; tests pass one that crashes. */
    entry?: URL;
  }) {
    if (!Number.isInteger(options.workers) || options.workers < 0) throw new Error(`staging pool workers must be a non-negative integer, got ${options.workers}`);
    if (options.workers === 0 && !options.inThread) throw new Error('a staging pool needs a worker thread or the calling thread');
    this.workers = options.workers;
    this.inThread = options.inThread ?? false;
    this.entry = options.entry ?? WORKER_ENTRY;
  }

  /** Stages one object; rejects with ObjectUnreadableError, the error staging threw, or StagingWorkerError. */
  stage(task: StageObjectTask, objectKey: string): Promise<StagedLines> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the staging pool is closed'));
    this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, objectKey, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts the worker threads (the first `stage` does if this was not called): they take a few hundred milliseconds. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let index = 0; index < this.workers; index++) this.spawn();
  }

  /** Ends every worker thread; objects still queued are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error(`the staging pool closed before ${pending.objectKey} was staged`));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.failure && !this.closed) {
      const slot = this.slots.find((candidate) => !candidate.pending);
      if (slot) {
        const pending = this.queue.shift()!;
        slot.pending = pending;
        // A busy thread keeps the process alive until its object is done; an idle one does not.
        slot.worker.ref();
        slot.worker.postMessage({ id: pending.id, task: pending.task } satisfies StagingRequest);
      } else if (this.inThread && !this.inThreadBusy) {
        const pending = this.queue.shift()!;
        this.inThreadBusy = true;
        stageObjectFile(pending.task)
          .then(pending.resolve, pending.reject)
          .finally(() => {
            this.inThreadBusy = false;
            this.dispatch();
          });
      } else {
        return;
      }
    }
  }

  private spawn(): void {
    // No execArgv: the entry registers tsx itself, and a parent's `--import tsx` would register it twice.
    const worker = new Worker(this.entry, { execArgv: [], name: `netflow-staging-${this.slots.length}` });
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on('message', (reply: StagingReply) => {
      const pending = slot.pending;
      if (!pending || pending.id !== reply.id) {
        this.fail(slot, new StagingWorkerError(`a staging worker thread answered for a task it was not given (${reply.id})`));
        return;
      }
      slot.pending = undefined;
      worker.unref();
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(revivedError(reply.error));
      this.dispatch();
    });
    worker.on('messageerror', (error) => this.fail(slot, new StagingWorkerError(`a staging worker thread's answer could not be read: ${error.message}`, { cause: error })));
    worker.on('error', (error) => {
      slot.error = error;
    });
    worker.on('exit', (code) => {
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots.splice(at, 1);
      if (this.closed && !slot.pending) return;
      const what = slot.pending ? `while staging ${slot.pending.objectKey}` : 'while idle';
      const why = slot.error ? `: ${slot.error.message}` : '';
      this.fail(slot, new StagingWorkerError(`a staging worker thread exited with code ${code} ${what}${why}`, slot.error ? { cause: slot.error } : undefined));
    });
    // Idle until given an object; after the listeners, since adding a 'message' listener refs the worker again.
    worker.unref();
  }

  private fail(slot: Slot, error: Error): void {
    this.failure ??= error;
    slot.pending?.reject(error);
    slot.pending = undefined;
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
    void slot.worker.terminate();
  }
}
