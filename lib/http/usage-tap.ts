// Reads the `usage` a provider reports out of a response body while the caller reads the
// same bytes: a JSON body whole, an SSE stream event by event (its last usage event wins).
// Whatever cannot be parsed is skipped: the caller's bytes are never touched or held.

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

/** A reader for a body of this content type, or undefined when the type carries no usage. */
export function usageReader(contentType: string | null): UsageReader | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return new SseUsage();
  if (type === 'application/json' || type.endsWith('+json')) return new JsonUsage();
  return undefined;
}

class JsonUsage implements UsageReader {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): void {
    if (this.size > MAX_JSON_BYTES) return;
    this.size += chunk.byteLength;
    if (this.size > MAX_JSON_BYTES) this.chunks = [];
    // Copied: the caller may be handed the same buffer and reuse it.
    else this.chunks.push(chunk.slice());
  }

  end(): Usage | undefined {
    if (this.size > MAX_JSON_BYTES) return undefined;
    const usage = new Tally();
    usage.add(parse(new TextDecoder().decode(Buffer.concat(this.chunks))));
    this.chunks = [];
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
