import { parentPort } from 'node:worker_threads';
import { stageObjectFile } from './stage-object-file.ts';
import { postedError, type StagingReply, type StagingRequest } from './staging-messages.ts';
import type { StagingSourceByType } from './staging-source.ts';

/**
 * Serves a staging worker thread (lib/staging/staging-pool.ts): stages each object it is sent
 * with the sources given and answers with the result or the error as plain data. Called by the
 * thread's entry module (StagingSources.workerModule), started from its bundle
 * (staging-worker-script.ts), or through staging-worker.mjs when it cannot be bundled.
 */
export function serveStagingTasks(byType: StagingSourceByType): void {
  if (!parentPort) throw new Error('staging tasks are served in a worker thread of a StagingPool');
  const port = parentPort;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler catches every error and replies with it
  port.on('message', async ({ id, task }: StagingRequest) => {
    let reply: StagingReply;
    try {
      reply = { id, ok: true, result: await stageObjectFile(task, byType) };
    } catch (error) {
      reply = { id, ok: false, error: postedError(error) };
    }
    port.postMessage(reply);
  });
}
