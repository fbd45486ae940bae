// A staging worker entry that dies on its first object, for the pool's crash handling
// (test/lib/staging-pool.test.ts): with the code given in the task's sourceType
// (`exit:<code>`), or by an uncaught exception (`throw`).
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ task }) => {
  if (task.sourceType === 'throw')
    setImmediate(() => {
      throw new Error('the worker broke down');
    });
  else process.exit(Number(task.sourceType.slice('exit:'.length)));
});
