// Usage read from response bodies as they pass: JSON whole, SSE streams of both providers
// split at any byte, and bodies that cannot be parsed (no usage, never an error).
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tapBody } from '../../lib/http/body-tap.js';
import { usageReader } from '../../lib/http/usage-tap.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function readAll(type: string, text: string, split = 7): ReturnType<NonNullable<ReturnType<typeof usageReader>>['end']> {
  const reader = usageReader(type)!;
  const all = bytes(text);
  for (let i = 0; i < all.length; i += split) reader.push(all.subarray(i, i + split));
  return reader.end();
}

const sse = (events: unknown[]): string => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');

describe('usageReader', () => {
  it('reads an OpenAI chat completion body', () => {
    expect(readAll('application/json; charset=utf-8', JSON.stringify({ usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })))
      .toEqual({ input: 12, output: 5, total: 17 });
  });

  it('reads an Anthropic message body with its cache tokens', () => {
    expect(readAll('application/json', JSON.stringify({ usage: { input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 3 } })))
      .toEqual({ input: 14, output: 3, total: 17 });
  });

  it('reads the final usage chunk of an OpenAI stream split at every 3 bytes', () => {
    const text = sse([{ choices: [{ delta: { content: 'hi' } }], usage: null }, { choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }, '[DONE]']);
    expect(readAll('text/event-stream', text, 3)).toEqual({ input: 9, output: 2, total: 11 });
  });

  it('reads an Anthropic stream: input from message_start, output from the last message_delta', () => {
    const text = [
      'event: message_start', `data: ${JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } })}`, '',
      'event: message_delta', `data: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: 15 } })}`, '',
      'event: message_stop', 'data: {"type":"message_stop"}', '', '',
    ].join('\r\n');
    expect(readAll('text/event-stream', text, 5)).toEqual({ input: 25, output: 15, total: 40 });
  });

  it('reads a Responses API stream from response.completed', () => {
    const text = sse([{ type: 'response.completed', response: { usage: { input_tokens: 7, output_tokens: 8, total_tokens: 15 } } }]);
    expect(readAll('text/event-stream', text)).toEqual({ input: 7, output: 8, total: 15 });
  });

  it('finds no usage in a malformed body, without throwing', () => {
    expect(readAll('application/json', '{"usage": {"prompt_tokens": 3,')).toBeUndefined();
    expect(readAll('text/event-stream', 'data: {nope\n\ndata: [DONE]\n\n')).toBeUndefined();
  });

  it('has no reader for bodies that carry no usage', () => {
    expect(usageReader('text/plain')).toBeUndefined();
    expect(usageReader(null)).toBeUndefined();
  });
});

describe('tapBody', () => {
  it('hands every chunk over unchanged and says when the body ended', async () => {
    const seen: number[] = [];
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes('ab'));
        c.enqueue(bytes('cd'));
        c.close();
      },
    });
    const tap = tapBody(source, (chunk) => seen.push(chunk.length), 60_000);
    expect(await new Response(tap.stream).text()).toBe('abcd');
    expect(await tap.done).toBe('end');
    expect(seen).toEqual([2, 2]);
  });

  it('passes the first chunk on before the source has sent the rest', async () => {
    let release!: () => void;
    const source = new ReadableStream<Uint8Array>({
      async pull(c) {
        c.enqueue(bytes('first'));
        await new Promise<void>((r) => (release = r));
        c.close();
      },
    }, { highWaterMark: 0 });
    const tap = tapBody(source, () => {}, 60_000);
    const reader = tap.stream.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    release();
    expect((await reader.read()).done).toBe(true);
  });

  it('cancels the source when the caller cancels, and reports it', async () => {
    let cancelled: unknown;
    const source = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(bytes('x')), cancel: (r) => { cancelled = r; } });
    const tap = tapBody(source, () => {}, 60_000);
    await tap.stream.cancel('bye');
    expect(await tap.done).toBe('cancel');
    expect(cancelled).toBe('bye');
  });

  it('passes a source error on to the caller', async () => {
    const source = new ReadableStream<Uint8Array>({ pull: (c) => c.error(new Error('reset')) });
    const tap = tapBody(source, () => {}, 60_000);
    await expect(new Response(tap.stream).text()).rejects.toThrow('reset');
    expect(await tap.done).toBe('error');
  });

  it('reports a body nobody reads as idle, and it stays readable', async () => {
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes('late'));
        c.close();
      },
    });
    const tap = tapBody(source, () => {}, 1);
    expect(await tap.done).toBe('idle');
    expect(await new Response(tap.stream).text()).toBe('late');
  });

  it('keeps the body intact when the observer throws', async () => {
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes('ok'));
        c.close();
      },
    });
    const tap = tapBody(source, () => {
      throw new Error('observer bug');
    }, 60_000);
    expect(await new Response(tap.stream).text()).toBe('ok');
  });
});

describe('usageReader on encoded bodies', () => {
  it.each([['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const)('decodes a %s copy', (encoding, encode) => {
    const reader = usageReader('application/json', encoding)!;
    const all = encode(Buffer.from(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 4 } })));
    for (let i = 0; i < all.length; i += 5) reader.push(all.subarray(i, i + 5));
    expect(reader.end()).toEqual({ input: 3, output: 4, total: 7 });
  });

  it('finds nothing in a body that is not what its encoding says, and has no reader for an unknown coding', () => {
    const reader = usageReader('application/json', 'gzip')!;
    reader.push(bytes('{"usage":{"prompt_tokens":1}}'));
    expect(reader.end()).toBeUndefined();
    expect(usageReader('application/json', 'zstd')).toBeUndefined();
  });
});
