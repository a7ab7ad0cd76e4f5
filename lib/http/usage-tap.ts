// Reads the `usage` a provider reports out of a response body while the caller reads the same
// bytes: JSON whole, SSE event by event, a still-encoded body (as a dispatcher sees it) decoded
// at its end. What cannot be parsed is skipped: the caller's bytes are never touched or held.

import zlib from 'node:zlib';

/** Tokens a response says it used. */
export interface Usage {
  input: number;
  output: number;
  total: number;
}

// Bodies past these sizes are still passed through; only their usage goes unread.
const MAX_JSON_BYTES = 8 << 20;
const MAX_SSE_LINE = 1 << 20;

export interface UsageReader {
  push(chunk: Uint8Array): void;
  /** The usage found, once the body ended; undefined when there was none to read. */
  end(): Usage | undefined;
}

/**
 * A reader for a body of this content type, or undefined when the type carries no usage.
 * `encoding` (the content-encoding of a body still encoded) gets the copy decompressed first.
 */
export function usageReader(contentType: string | null, encoding: string | null = null): UsageReader | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const plain = type === 'text/event-stream' ? new SseUsage()
    : type === 'application/json' || type.endsWith('+json') ? new JsonUsage() : undefined;
  const coding = (encoding ?? '').trim().toLowerCase();
  if (plain === undefined || coding === '' || coding === 'identity') return plain;
  const decode = DECODERS[coding];
  return decode === undefined ? undefined : new Decoding(plain, decode);
}

type Decode = (input: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Buffer;

const DECODERS: Record<string, Decode> = {
  'gzip': zlib.gunzipSync, 'x-gzip': zlib.gunzipSync, 'deflate': zlib.inflateSync, 'br': zlib.brotliDecompressSync,
};

/** A copy of a body's bytes up to MAX_JSON_BYTES; past that it keeps nothing and says so. */
class BoundedCopy {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): void {
    if (this.size > MAX_JSON_BYTES) return;
    this.size += chunk.byteLength;
    if (this.size > MAX_JSON_BYTES) this.chunks = [];
    // Copied: the caller may be handed the same buffer and reuse it.
    else this.chunks.push(chunk.slice());
  }

  /** The bytes, or undefined when the body outgrew the bound; either way the copy is dropped. */
  take(): Buffer | undefined {
    const whole = this.size > MAX_JSON_BYTES ? undefined : Buffer.concat(this.chunks);
    this.chunks = [];
    return whole;
  }
}

/**
 * Keeps a copy of the encoded bytes (up to MAX_JSON_BYTES) and decompresses it once the body
 * ended: usage comes last in every provider's body, and the caller's stream is never waited on.
 */
class Decoding implements UsageReader {
  private readonly copy = new BoundedCopy();

  constructor(private readonly inner: UsageReader, private readonly decode: Decode) {}

  push(chunk: Uint8Array): void {
    this.copy.push(chunk);
  }

  end(): Usage | undefined {
    const encoded = this.copy.take();
    if (encoded === undefined) return undefined;
    let plain: Buffer;
    try {
      // A flush rather than an end: a body cut short still yields what it held.
      plain = this.decode(encoded, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 8 * MAX_JSON_BYTES });
    } catch {
      return undefined;
    }
    this.inner.push(plain);
    return this.inner.end();
  }
}

class JsonUsage implements UsageReader {
  private readonly copy = new BoundedCopy();

  push(chunk: Uint8Array): void {
    this.copy.push(chunk);
  }

  end(): Usage | undefined {
    const body = this.copy.take();
    if (body === undefined) return undefined;
    const usage = new Tally();
    usage.add(parse(new TextDecoder().decode(body)));
    return usage.result();
  }
}

class SseUsage implements UsageReader {
  private readonly decoder = new TextDecoder();
  private line = '';
  private data: string[] = [];
  private readonly usage = new Tally();
  private broken = false;

  push(chunk: Uint8Array): void {
    if (this.broken) return;
    const text = this.line + this.decoder.decode(chunk, { stream: true });
    const lines = text.split(/\r\n|\r|\n/);
    this.line = lines.pop()!;
    if (this.line.length > MAX_SSE_LINE) {
      this.broken = true;
      return;
    }
    for (const line of lines) this.onLine(line);
  }

  end(): Usage | undefined {
    if (!this.broken) {
      this.line += this.decoder.decode();
      if (this.line !== '') this.onLine(this.line);
      this.onLine('');
    }
    return this.usage.result();
  }

  private onLine(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.usage.add(parse(this.data.join('\n')));
      this.data = [];
      return;
    }
    if (line.startsWith('data:')) this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
}

type Bag = Record<string, unknown>;

/** Usage counts are cumulative in every provider's stream: the largest seen is the answer's. */
class Tally {
  private input: number | undefined;
  private output: number | undefined;
  private total: number | undefined;

  add(event: unknown): void {
    if (!isBag(event)) return;
    const message = isBag(event.message) ? event.message : undefined;
    const response = isBag(event.response) ? event.response : undefined;
    for (const usage of [event.usage, message?.usage, response?.usage]) if (isBag(usage)) this.read(usage);
  }

  result(): Usage | undefined {
    if (this.input === undefined && this.output === undefined && this.total === undefined) return undefined;
    const input = this.input ?? 0;
    const output = this.output ?? 0;
    return { input, output, total: Math.max(this.total ?? 0, input + output) };
  }

  private read(u: Bag): void {
    const cached = num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
    const input = count(u.prompt_tokens) ?? count(u.input_tokens);
    if (input !== undefined) this.input = Math.max(this.input ?? 0, input + cached);
    const output = count(u.completion_tokens) ?? count(u.output_tokens);
    if (output !== undefined) this.output = Math.max(this.output ?? 0, output);
    const total = count(u.total_tokens);
    if (total !== undefined) this.total = Math.max(this.total ?? 0, total);
  }
}

function parse(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function num(v: unknown): number {
  return count(v) ?? 0;
}

function isBag(v: unknown): v is Bag {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
