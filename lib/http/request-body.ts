// A request body made ready for scheduling: its size checked against the bound, its JSON
// read for the token estimate, and whether it can be sent again. Strings, bytes, Blobs,
// URLSearchParams and FormData can; a stream can only once, unless it is buffered first.

export interface PreparedBody {
  /** What each attempt sends; the same value every time when `replayable`. */
  value: RequestInit['body'];
  replayable: boolean;
  /** The parsed JSON body, when it is one. */
  json: unknown;
}

// JSON bodies past this are sent, but not parsed for an estimate.
const MAX_PARSE_BYTES = 8 << 20;

export function tooLarge(maxBytes: number): RangeError {
  return new RangeError(`request body is over maxBodyBytes (${maxBytes} bytes)`);
}

export async function prepareBody(body: unknown, maxBytes: number, buffer: boolean): Promise<PreparedBody> {
  if (body === null || body === undefined) return { value: null, replayable: true, json: undefined };
  if (typeof body === 'string') {
    if (Buffer.byteLength(body) > maxBytes) throw tooLarge(maxBytes);
    return { value: body, replayable: true, json: parseJson(body) };
  }
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    return { value: bytes, replayable: true, json: bytes.byteLength <= MAX_PARSE_BYTES ? parseJson(new TextDecoder().decode(bytes)) : undefined };
  }
  if (body instanceof Blob) {
    if (body.size > maxBytes) throw tooLarge(maxBytes);
    return { value: body, replayable: true, json: undefined };
  }
  if (body instanceof FormData) {
    let size = 0;
    for (const [name, v] of body) size += name.length + (typeof v === 'string' ? Buffer.byteLength(v) : v.size);
    if (size > maxBytes) throw tooLarge(maxBytes);
    return { value: body, replayable: true, json: undefined };
  }
  if (body instanceof URLSearchParams) return prepareBody(body.toString(), maxBytes, buffer).then((p) => ({ ...p, value: body }));
  const stream = toStream(body);
  if (stream === undefined) throw new TypeError(`body must be a string, bytes, Blob, FormData, URLSearchParams or a stream, got ${typeof body}`);
  if (!buffer) return { value: bounded(stream, maxBytes), replayable: false, json: undefined };
  const bytes = await readAll(stream, maxBytes);
  return { value: bytes, replayable: true, json: bytes.byteLength <= MAX_PARSE_BYTES ? parseJson(new TextDecoder().decode(bytes)) : undefined };
}

function toStream(body: unknown): ReadableStream<Uint8Array> | undefined {
  if (body instanceof ReadableStream) return body as ReadableStream<Uint8Array>;
  if (typeof body === 'object' && body !== null && Symbol.asyncIterator in body) {
    return ReadableStream.from(body as AsyncIterable<Uint8Array>);
  }
  return undefined;
}

/** Reads a whole stream, refusing it once it passes `maxBytes`. */
export async function readAll(stream: ReadableStream<Uint8Array>, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const onAbort = (): void => {
    reader.cancel(signal!.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = typeof value === 'string' ? Buffer.from(value) : value;
      size += chunk.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(chunk);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks);
}

/** A stream sent once: it errors with the size refusal as soon as it passes the bound. */
function bounded(stream: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let size = 0;
  return stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > maxBytes) controller.error(tooLarge(maxBytes));
      else controller.enqueue(chunk);
    },
  }));
}

export function parseJson(text: string): unknown {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}
