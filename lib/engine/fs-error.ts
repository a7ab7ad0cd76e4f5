// Node-style file system errors for the native backends, shaped exactly like the ones
// fs.promises throws on the running Node: `code`, negative `errno`, `syscall`, `path` where
// Node names it, and readFile's RangeError for a file over 2 GiB.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';

let systemErrors: Map<number, [string, string]> | undefined;

// libuv names the path only for calls that take one; fd calls (read, fstat, close) omit it.
const kPathSyscalls = new Set(['open', 'stat']);
// Node 26's readFile reads a small file in one native job that names the path in its read
// errors too (EISDIR: ..., read '/dir'); Node 20 to 24 do not. Learned, not assumed.
let readNamesPath = false;
let learned: Promise<void> | undefined;

/**
 * Asks this Node's own fs.promises.readFile, once per thread, how it shapes a read error
 * (reading this module's directory fails with EISDIR at the read).
 */
export function learnFsErrors(): Promise<void> {
  learned ??= readFile(fileURLToPath(new URL('.', import.meta.url))).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => {
      readNamesPath = err.syscall === 'read' && err.path !== undefined;
    },
  );
  return learned;
}

/** `errno` is negative, as in Node ("ENOENT" is -2). */
export function fsError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  systemErrors ??= getSystemErrorMap();
  const [code, description] = systemErrors.get(errno) ?? ['UNKNOWN', 'unknown error'];
  const withPath = kPathSyscalls.has(syscall) || (readNamesPath && syscall === 'read');
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall}${withPath ? ` '${path}'` : ''}`);
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (withPath) err.path = path;
  return err;
}

/**
 * Whether the stack formatter in force heads a Node error "Name [CODE]: message". Node's
 * default does (for its own errors only); one a tool installs (test runners, source-map
 * support) may not. Asked of a genuine Node error, since the formatter can change at any time.
 */
function stackNamesCode(): boolean {
  try {
    Buffer.alloc(-1);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.stack?.startsWith(`${e.name} [${e.code}]`) ?? false;
  }
  return false;
}

/** fs.promises.readFile's refusal of a file over 2 GiB (Node's ERR_FS_FILE_TOO_LARGE). */
export class FileTooLargeError extends RangeError {
  code = 'ERR_FS_FILE_TOO_LARGE' as const;

  constructor(size: number) {
    super(`File size (${size}) is greater than 2 GiB`);
    // V8 formats the stack on first access, so a name held only for that access gives
    // the first line Node's own error would get from the same formatter.
    if (stackNamesCode()) {
      Object.defineProperty(this, 'name', { value: `RangeError [${this.code}]`, configurable: true });
      void this.stack;
      delete (this as { name?: string }).name;
    }
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}
