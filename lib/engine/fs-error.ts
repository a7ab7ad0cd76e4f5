// Node-style file system errors for the native backends, shaped exactly like the ones
// fs.promises throws: `code`, negative `errno`, `syscall`, and `path` for path-based calls.
import { getSystemErrorMap } from 'node:util';

let systemErrors: Map<number, [string, string]> | undefined;

// libuv names the path only for calls that take one; fd calls (read, fstat, close) omit it.
const kPathSyscalls = new Set(['open', 'stat']);

/** `errno` is negative, as in Node ("ENOENT" is -2). */
export function fsError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  systemErrors ??= getSystemErrorMap();
  const [code, description] = systemErrors.get(errno) ?? ['UNKNOWN', 'unknown error'];
  const withPath = kPathSyscalls.has(syscall);
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall}${withPath ? ` '${path}'` : ''}`);
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (withPath) err.path = path;
  return err;
}
