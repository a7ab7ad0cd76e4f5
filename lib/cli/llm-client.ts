// One chat-completions attempt over node:http with keep-alive sockets. A non-200 rejects
// with HttpError carrying the status and raw headers, the shape ringleader's classify and
// retryAfterMs read from provider SDK errors. Shared by the demo's strategies.

import http from 'node:http';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatCall {
  model: string;
  messages: ChatMessage[];
  max_tokens: number;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  usage: ChatUsage;
}

export class HttpError extends Error {
  override name = 'HttpError';

  constructor(readonly status: number, readonly headers: http.IncomingHttpHeaders) {
    super(`HTTP ${status}`);
  }
}

// Mock answers are a few hundred bytes; anything near this is a broken server.
const MAX_RESPONSE_BYTES = 1 << 20;

export class ChatClient {
  private readonly agent: http.Agent;
  private readonly endpoint: URL;

  /** `maxSockets` bounds open connections: even a naive caller must stay within the fd limit. */
  constructor(baseUrl: string, maxSockets: number) {
    this.endpoint = new URL('/v1/chat/completions', baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  complete(call: ChatCall, signal?: AbortSignal): Promise<ChatCompletion> {
    const payload = JSON.stringify(call);
    return new Promise((resolve, reject) => {
      const req = http.request(this.endpoint, {
        method: 'POST', agent: this.agent, signal,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`response over ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new HttpError(res.statusCode ?? 0, res.headers));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatCompletion);
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
