// `ringleader/p-queue`: PQueue as the default export, so `import PQueue from 'p-queue'`
// becomes `import PQueue from 'ringleader/p-queue'` and nothing else changes.

import { PQueue } from './scheduler/p-queue.js';

export default PQueue;
export { PQueue };
export type { PQueueOptions, PQueueAddOptions, PQueueTask, PQueueEvent, RunningTask } from './scheduler/p-queue.js';
export { TimeoutError, QueueFullError, ClosedError } from './errors.js';
