// A local stand-in for the OpenAI and Anthropic HTTP APIs (127.0.0.1, port 0) that answers
// from a script, so the real AI SDK providers can be driven into the failures a provider
// sends; plus a helper that lets an SDK call settle while fake timers run its backoffs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';

export type Provider = 'openai' | 'anthropic';

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** JSON body; default: a successful completion saying "hi" in the provider's shape. */
  body?: unknown;
}

export interface ProviderServer {
  /** Base URL to hand the provider (`…/v1`). */
  baseURL: string;
  /** Answers in order; the last one repeats once the others are used up. */
  script(...answers: Answer[]): void;
  /** When each request arrived, on the (possibly fake) performance clock. */
  readonly arrivals: number[];
  close(): Promise<void>;
}

export async function startProviderServer(provider: Provider): Promise<ProviderServer> {
  let answers: Answer[] = [{ status: 200 }];
  const arrivals: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(performance.now());
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      const body = JSON.stringify(answer.body ?? success(provider));
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    script(...next) {
      answers = next;
    },
    arrivals,
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
