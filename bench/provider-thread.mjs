// Starts the mock provider in a worker thread (resilience/provider.mjs), so a busy client
// cannot slow the server it measures; shared by bench:resilience and bench:http.

import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/** Resolves with the provider's url and a stats/close handle. */
export async function startProvider(options) {
  const worker = new Worker(new URL('./resilience/provider.mjs', import.meta.url), { workerData: options });
  const [{ url }] = await once(worker, 'message');
  return {
    url,
    async stats() {
      worker.postMessage('stats');
      const [{ stats }] = await once(worker, 'message');
      return stats;
    },
    async close() {
      worker.postMessage('close');
      await once(worker, 'exit');
    },
  };
}
