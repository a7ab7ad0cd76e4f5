// The one file read every demo strategy's tool calls go through. It is fs.promises on the
// `js` backend today; the native Engine's readFile (issue 4) takes its place here, and a
// `ringleader-native` strategy joins the demo with it.

import { readFile } from 'node:fs/promises';

export function readToolFile(path: string, signal?: AbortSignal): Promise<Buffer> {
  return readFile(path, { signal });
}
