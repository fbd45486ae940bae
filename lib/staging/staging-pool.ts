import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createLogger, type Logger } from '../log/logger.ts';
import { stageObjectFile, type StageObjectTask } from './stage-object-file.ts';
import type { StagedLines } from './stage-lines.ts';
import { revivedError, type StagingReply, type StagingRequest } from './staging-messages.ts';
import type { StagingSources } from './staging-source.ts';
import { stagingWorkerScript } from './staging-worker-script.ts';
import { packagePath } from '../process/package-root.ts';

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

/** The worker entry that loads the TypeScript through tsx, when the bundle cannot be made. */
const TSX_WORKER_ENTRY = pathToFileURL(packagePath('lib', 'staging', 'staging-worker.mjs'));

/**
 * How a pool's worker threads started: from the bundled script (staging-worker-script.ts),
 * through tsx because bundling failed, from the `entry` given, or not at all (no worker threads,
 * or the pool was closed before they started).
 */
export type WorkerLaunch = 'bundle' | 'tsx' | 'entry' | 'none';

/**
 * Stages objects side by side (stageObjectFile: line splitting, UTF-8 checks, AWS records typed
 * with their Community ID, the Azure JSON tokenizer) in up to `workers` worker threads, and with
 * `inThread` one more at a time in the calling thread, so that several objects are staged on
 * several cores at once; downloads stay with the caller. One object per thread at a time, the others queue; worker
 * threads start with `start()` or the first object.
 *
 * A worker thread runs the staging code bundled into one script (staging-worker-script.ts):
 * ~80-120 ms of a core and ~12 MiB to start, where loading it through tsx took ~0.3-0.4 s and
 * ~45 MiB. The bundle is read from its cache, or made when one of its sources changed (~0.25 s
 * after the first pool starts); if it cannot be made, the pool says so and starts its threads
 * through tsx (staging-worker.mjs).
 *
 * Why the calling thread takes a share: it is idle while staging waits on the threads, and stages
 * the first object while the bundle is made and the threads start, where one more worker thread
 * would cost its start, its own V8 heap and its own JIT warm-up.
 *
 * An idle thread does not hold the process open, but `close()` must be called (in a finally) to
 * end them. A worker thread that dies fails its object and every object after it
 * (StagingWorkerError): the pool does not replace it, the run fails with the reason.
 */
export class StagingPool {
  private readonly sources: StagingSources;
  private readonly workers: number;
  private readonly inThread: boolean;
  private readonly entry: URL | undefined;
  private readonly script: (workerModule: string, logger: Pick<Logger, 'debug'>) => Promise<string>;
  private readonly logger: Pick<Logger, 'warn'> & Partial<Pick<Logger, 'debug'>>;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private launched: Promise<WorkerLaunch> | undefined;
  private inThreadBusy = false;
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(options: {
    /** The sources staged, in this thread and (through their workerModule) in the worker threads. */
    sources: StagingSources;
    workers: number;
    /** Also stage one object at a time in the calling thread. */
    inThread?: boolean;
    /** The worker threads' entry module instead of the bundled script; tests pass one that crashes. */
    entry?: URL;
    /** The worker threads' bundled script (default: stagingWorkerScript); tests pass one that fails. */
    script?: (workerModule: string, logger: Pick<Logger, 'debug'>) => Promise<string>;
    /** Told when the worker threads start through tsx because the script could not be bundled; at debug, where the script came from. */
    logger?: Pick<Logger, 'warn'> & Partial<Pick<Logger, 'debug'>>;
  }) {
    if (!Number.isInteger(options.workers) || options.workers < 0) throw new Error(`staging pool workers must be a non-negative integer, got ${options.workers}`);
    if (options.workers === 0 && !options.inThread) throw new Error('a staging pool needs a worker thread or the calling thread');
    this.sources = options.sources;
    this.workers = options.workers;
    this.inThread = options.inThread ?? false;
    this.entry = options.entry;
    this.script = options.script ?? stagingWorkerScript;
    this.logger = options.logger ?? createLogger();
  }

  /** Stages one object; rejects with ObjectUnreadableError, the error staging threw, or StagingWorkerError. */
  stage(task: StageObjectTask, objectKey: string): Promise<StagedLines> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the staging pool is closed'));
    void this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, objectKey, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Starts the worker threads (the first `stage` does if this was not called); resolves once they
   * are spawned, with how (they load in the background, objects wait for them in their queue).
   * Never rejects: a thread that cannot be spawned fails the pool's objects instead.
   */
  start(): Promise<WorkerLaunch> {
    if (this.closed && !this.launched) return Promise.resolve('none');
    this.launched ??= this.launch();
    return this.launched;
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
        stageObjectFile(pending.task, this.sources.byType)
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

  private async launch(): Promise<WorkerLaunch> {
    if (this.workers === 0) return 'none';
    // No execArgv: neither the bundled script nor the fallback entry (which registers tsx itself)
    // wants a parent's `--import tsx` registered again in the thread.
    let launch: WorkerLaunch;
    let create: (name: string) => Worker;
    const entry = this.entry;
    if (entry) {
      launch = 'entry';
      create = (name) => new Worker(entry, { execArgv: [], name });
    } else {
      try {
        const script = await this.script(this.sources.workerModule, { debug: (msg, fields) => this.logger.debug?.(msg, fields) });
        launch = 'bundle';
        create = (name) => new Worker(script, { eval: true, execArgv: [], name });
      } catch (error) {
        this.logger.warn('staging worker threads start through tsx: their script could not be bundled', { error: error instanceof Error ? error.message : String(error) });
        launch = 'tsx';
        create = (name) => new Worker(TSX_WORKER_ENTRY, { execArgv: [], name, workerData: { workerModule: this.sources.workerModule } });
      }
    }
    // Closed while the script was bundled: no thread to end later.
    if (this.closed) return 'none';
    try {
      for (let index = 0; index < this.workers; index++) this.spawn(create(`netflow-staging-${index}`));
    } catch (error) {
      this.failure ??= new StagingWorkerError(`a staging worker thread could not be started: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      for (const pending of this.queue.splice(0)) pending.reject(this.failure);
      return launch;
    }
    this.dispatch();
    return launch;
  }

  private spawn(worker: Worker): void {
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
