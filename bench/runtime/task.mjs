// The two benchmark workloads, shared by every runner so they do identical work: a
// CPU-bound sha256 of 64 KiB (the buffer lives in the thread; only a seed crosses) and a tiny echo.
import { createHash } from 'node:crypto';

const block = new Uint8Array(64 * 1024).fill(7);
const view = new DataView(block.buffer);

export function work(data) {
  if (data.kind === 'tiny') return data.n + 1;
  view.setUint32(0, data.n);
  return createHash('sha256').update(block).digest('hex');
}
