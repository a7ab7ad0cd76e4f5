// A local stand-in for the OpenAI and Anthropic HTTP APIs (127.0.0.1, port 0) that answers
// from a script, so the real SDKs can be driven into the failures a provider sends (error
// statuses, SSE streams, resets mid-body, no answer at all); plus a helper that lets an SDK
// call settle while fake timers run its backoffs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { vi } from 'vitest';

export type Provider = 'openai' | 'anthropic';

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** JSON body; default: a successful completion saying "hi" in the provider's shape. */
  body?: unknown;
  /** Sent as raw text instead of JSON (e.g. a malformed body). */
  text?: string;
  /** Server-sent events instead of a JSON body: each is one `data:` event (strings as they are). */
  sse?: unknown[];
  /** Send this many SSE events, then wait for `release()` before sending the rest. */
  holdAfter?: number;
  /** Never answer; the socket stays open until the client goes away. */
  hang?: boolean;
  /** Send the headers and part of the body, then destroy the socket. */
  resetMidBody?: boolean;
  /** Answer after this many ms (on the possibly fake clock). */
  delayMs?: number;
  /** Send the JSON body gzip-encoded, with its content-encoding. */
  gzip?: boolean;
}

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ProviderServer {
  /** Base URL to hand the provider (`…/v1`). */
  baseURL: string;
  /** Answers in order; the last one repeats once the others are used up. */
  script(...answers: Answer[]): void;
  /** When each request arrived, on the (possibly fake) performance clock. */
  readonly arrivals: number[];
  /** Each request as received, in order. */
  readonly received: Received[];
  /** Requests whose socket closed before their answer ended (the client gave up). */
  readonly closedEarly: number;
  /** Requests being answered now, and the most at once so far. */
  readonly inFlight: number;
  readonly peakInFlight: number;
  /** Sends the rest of the events an answer held back with `holdAfter`. */
  release(): void;
  close(): Promise<void>;
}

export async function startProviderServer(provider: Provider): Promise<ProviderServer> {
  let answers: Answer[] = [{ status: 200 }];
  const arrivals: number[] = [];
  const received: Received[] = [];
  const held: Array<() => void> = [];
  let closedEarly = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      arrivals.push(performance.now());
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      res.once('close', () => {
        inFlight--;
        if (!res.writableFinished) closedEarly++;
      });
      if (answer.hang === true) return;
      if (answer.delayMs !== undefined) setTimeout(() => send(res, answer), answer.delayMs);
      else send(res, answer);
    });
  });
  const send = (res: ServerResponse, answer: Answer): void => {
    if (answer.sse !== undefined) {
      res.writeHead(answer.status, { 'content-type': 'text/event-stream', ...answer.headers });
      // Anthropic's SDK dispatches on the event name: an event with a `type` carries it.
      const events = answer.sse.map((e) => {
        const name = typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' ? `event: ${(e as { type: string }).type}\n` : '';
        return `${name}data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`;
      });
      const first = events.splice(0, answer.holdAfter ?? events.length);
      res.write(first.join(''));
      const rest = (): void => {
        res.end(events.join(''));
      };
      if (answer.holdAfter === undefined) rest();
      else held.push(rest);
      return;
    }
    const body = answer.text ?? JSON.stringify(answer.body ?? success(provider));
    if (answer.gzip === true) {
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-encoding': 'gzip', ...answer.headers });
      res.end(gzipSync(body));
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    if (answer.resetMidBody === true) {
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setImmediate(() => res.destroy());
      return;
    }
    res.end(body);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    script(...next) {
      answers = next;
    },
    arrivals,
    received,
    get closedEarly() {
      return closedEarly;
    },
    get inFlight() {
      return inFlight;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    release() {
      for (const send of held.splice(0)) send();
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}

/** An error body in the provider's own envelope. */
export function errorBody(provider: Provider, type: string): unknown {
  return provider === 'openai'
    ? { error: { message: type, type, param: null, code: type } }
    : { type: 'error', error: { type, message: type } };
}

function success(provider: Provider): unknown {
  return provider === 'openai'
    ? {
      id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }
    : {
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test',
      content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
    };
}

/**
 * Waits for `promise` under fake timers: real I/O gets an event-loop turn (setImmediate is
 * not faked) between steps of fake time, so backoffs inside the SDK pass without real waits.
 */
export async function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  let result: PromiseSettledResult<T> | undefined;
  promise.then(
    (value) => { result = { status: 'fulfilled', value }; },
    (reason: unknown) => { result = { status: 'rejected', reason }; },
  );
  while (result === undefined) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await vi.advanceTimersByTimeAsync(50);
  }
  return result;
}
