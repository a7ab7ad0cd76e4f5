// Worker-thread host for the mock provider, so its windows and latencies run on their own
// event loop and core: a busy client must not be able to slow the server it is measuring.
// Protocol: posts { url } once listening; answers 'stats' with { stats }; 'close' closes it.

import { parentPort, workerData } from 'node:worker_threads';
import { startMockProvider } from '../../dist/cli/mock-provider.js';

const provider = await startMockProvider(workerData);
parentPort.postMessage({ url: provider.url });
parentPort.on('message', async (message) => {
  if (message === 'stats') parentPort.postMessage({ stats: provider.stats() });
  if (message === 'close') {
    await provider.close();
    parentPort.close();
  }
});
