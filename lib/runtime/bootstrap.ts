// The entry of every WorkerPool worker: takes the pool's init message, loads the user's
// worker file, and serves what it defines — defineWorker(handler), or its exported functions.

import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isInit } from './protocol.js';
import { acceptInit, startHandlers, workerStarted, type WorkerHandler } from './worker.js';

// The handlers a module exports, piscina-style: the default export (ESM) or module.exports
// (CJS, which import() gives as the default) runs unnamed tasks; every exported function,
// and every function property of a CJS exports object, can be picked with run(data, { name }).
function exportedHandlers(mod: Record<string, unknown>): Map<string, WorkerHandler> {
  const handlers = new Map<string, WorkerHandler>();
  const add = (name: string, value: unknown): void => {
    if (typeof value === 'function' && !handlers.has(name)) handlers.set(name, value as WorkerHandler);
  };
  const main = mod['default'];
  add('default', main);
  for (const [name, value] of Object.entries(mod)) add(name, value);
  if (typeof main === 'object' && main !== null) {
    for (const [name, value] of Object.entries(main)) add(name, value);
  }
  return handlers;
}

parentPort!.once('message', (message: unknown) => {
  if (!isInit(message)) throw new TypeError('a WorkerPool worker got a first message that is not its init');
  acceptInit(message);
  const filename = message.filename;
  // A file that fails to load, or defines nothing to run, throws here: the pool's open()
  // rejects with this error.
  void import(pathToFileURL(filename).href).then((mod: Record<string, unknown>) => {
    if (workerStarted()) return;
    const handlers = exportedHandlers(mod);
    if (handlers.size === 0) {
      throw new TypeError(`${filename} exports no function and ended before calling defineWorker(): ` +
        'export the handler as default (or module.exports = handler), or call defineWorker(handler)');
    }
    startHandlers(handlers);
  }).catch((err: unknown) => {
    // Thrown outside the promise chain, so it reaches the pool as the worker's error
    // whatever --unhandled-rejections says.
    process.nextTick(() => {
      throw err;
    });
  });
});
