// WorkerPool side of the runtime benchmark.
import { defineWorker } from '../../dist/runtime/worker.js';
import { work } from './task.mjs';

defineWorker(work);
