// A provider's refusal (429, 5xx, 529, 408) held as an error while ringleader decides whether
// to try again: classify() and retryAfterMs() read its status, headers and body codes. When
// no attempt is left it turns back into the response exactly as the provider sent it.

import { parseJson } from './request-body.js';

// Error bodies are a few hundred bytes; past this the rest is dropped, never buffered.
const MAX_ERROR_BODY = 64 << 10;
// Null-body statuses: a Response with one of them must not be given a body.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export class ProviderHttpError extends Error {
  override name = 'ProviderHttpError';
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body (OpenAI `{ error: { type, code } }`, Anthropic `{ type: 'error', error: { type } }`). */
  readonly error: unknown;

  constructor(private readonly response: Response, private readonly body: Uint8Array) {
    super(`HTTP ${response.status} from ${response.url || 'the provider'}`);
    this.status = response.status;
    this.headers = response.headers;
    this.error = parseJson(new TextDecoder().decode(body));
  }

  /** The provider's answer, marked so an SDK does not retry what ringleader already retried. */
  toResponse(): Response {
    return rebuildResponse(this.response, this.body.byteLength === 0 ? null : this.body);
  }
}

/** Reads an error body up to MAX_ERROR_BODY bytes; the rest is cancelled. */
export async function readErrorBody(response: Response): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value.subarray(0, Math.max(0, MAX_ERROR_BODY - size)));
    size += value.byteLength;
    if (size >= MAX_ERROR_BODY) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return Buffer.concat(chunks);
}

/**
 * A copy of `response` around `body`. A final failure carries `x-should-retry: false`, which
 * the OpenAI and Anthropic SDKs obey: their retries would otherwise multiply ringleader's.
 */
export function rebuildResponse(response: Response, body: RequestInit['body']): Response {
  const headers = new Headers(response.headers);
  if (!response.ok) headers.set('x-should-retry', 'false');
  const out = new Response(NULL_BODY.has(response.status) ? null : body, {
    status: response.status, statusText: response.statusText, headers,
  });
  Object.defineProperty(out, 'url', { value: response.url });
  Object.defineProperty(out, 'redirected', { value: response.redirected });
  return out;
}
