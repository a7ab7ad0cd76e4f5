// Tokens a request will cost, from its JSON body alone: the prompt's text at about four
// characters a token, plus the completion budget it asks for, which providers charge at
// admission (OpenAI `max_tokens` / `max_completion_tokens` / `max_output_tokens`, Anthropic `max_tokens`).

import type { Cost } from './lane-budget.js';

// Roughly what English text costs in BPE tokens.
const CHARS_PER_TOKEN = 4;
const OUTPUT_FIELDS = ['max_completion_tokens', 'max_output_tokens', 'max_tokens', 'maxOutputTokens'] as const;
// Fields that hold settings, not text the model reads.
const NOT_PROMPT = new Set(['model', 'stream', 'temperature', 'top_p', 'n', 'seed', 'user', 'metadata', 'stop', 'store',
  'service_tier', 'stream_options', 'response_format', 'reasoning_effort', 'logit_bias', 'parallel_tool_calls', 'tool_choice',
  ...OUTPUT_FIELDS]);
// Deeply nested bodies are not prompts; this keeps a hostile body from costing more than its size.
const MAX_DEPTH = 32;

/** The cost of a request whose body is `json` (anything JSON.parse returns). */
export function estimateFromJson(json: unknown, defaultMaxTokens: number): Cost {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { input: 0, output: 0 };
  const body = json as Record<string, unknown>;
  let output = defaultMaxTokens;
  for (const field of OUTPUT_FIELDS) {
    const value = body[field];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
      output = Math.ceil(value);
      break;
    }
  }
  let chars = 0;
  for (const [key, value] of Object.entries(body)) if (!NOT_PROMPT.has(key)) chars += textLength(value, 0);
  return { input: Math.ceil(chars / CHARS_PER_TOKEN), output };
}

function textLength(value: unknown, depth: number): number {
  // Inline images and files (data: URLs) are billed by their content, not their base64 length.
  if (typeof value === 'string') return value.startsWith('data:') ? 0 : value.length;
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) n += textLength(v, depth + 1);
  return n;
}
