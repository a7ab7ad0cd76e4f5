// The demo's agent: plan (one LLM call), fan out tool calls (LLM calls and file reads of
// the corpus, every third one a file), synthesize (one LLM call over all the tool outputs).
// Strategies differ only in the Executor that carries each step out.

import type { ChatCall, ChatCompletion } from './llm-client.js';

export type Phase = 'plan' | 'tool' | 'synthesize';

export interface Step {
  agent: number;
  phase: Phase;
}

export interface Executor {
  llm(call: ChatCall, step: Step): Promise<ChatCompletion>;
  read(path: string, step: Step): Promise<Buffer>;
}

export interface Workload {
  agents: number;
  fanout: number;
  files: readonly string[];
}

const MODEL = 'mock-1';
const SYSTEM = 'You are an operations agent. Work through the ticket step by step, cite the documents you read, ' +
  'and say what you would change. ';
const FILLER = 'The service degraded after the deploy; the queue grew and retries piled up on the provider. ';
// What one tool's output contributes to the synthesis prompt.
const EXCERPT_CHARS = 2_000;

export const MAX_TOKENS = { plan: 300, tool: 400, synthesize: 600 } as const;

export function isFileTool(index: number): boolean {
  return index % 3 === 2;
}

/** LLM calls per agent: plan, the LLM tool calls, synthesize. */
export function llmCallsPerAgent(fanout: number): number {
  let calls = 2;
  for (let j = 0; j < fanout; j++) if (!isFileTool(j)) calls++;
  return calls;
}

/**
 * Tokens a client estimates for a call without a tokenizer: about 3 characters a token
 * (above the real count for English, so the estimate errs high), plus max_tokens, which
 * providers charge at admission.
 */
export function estimateTokens(call: ChatCall): number {
  let chars = 0;
  for (const m of call.messages) chars += m.content.length;
  return Math.ceil(chars / 3) + call.max_tokens;
}

/** Resolves when the agent synthesized; rejects with the first step that failed for good. */
export async function runAgent(agent: number, workload: Workload, exec: Executor): Promise<void> {
  const plan = await exec.llm(chat(SYSTEM, `Ticket ${agent}: ${text(400)}`, MAX_TOKENS.plan), { agent, phase: 'plan' });
  const tool: Step = { agent, phase: 'tool' };
  const outputs = await Promise.all(Array.from({ length: workload.fanout }, async (_, j) => {
    if (isFileTool(j)) {
      const file = workload.files[(agent * workload.fanout + j) % workload.files.length]!;
      return (await exec.read(file, tool)).toString('utf8', 0, EXCERPT_CHARS);
    }
    const prompt = `Step ${j} of the plan (${plan.usage.completion_tokens} tokens): ${text(1_600)}`;
    const answer = await exec.llm(chat(SYSTEM, prompt, MAX_TOKENS.tool), tool);
    return text(answer.usage.completion_tokens * 4);
  }));
  await exec.llm(chat(SYSTEM, `Tool outputs for ticket ${agent}:\n${outputs.join('\n')}`, MAX_TOKENS.synthesize),
    { agent, phase: 'synthesize' });
}

function chat(system: string, user: string, maxTokens: number): ChatCall {
  return {
    model: MODEL,
    messages: [{ role: 'system', content: system + text(1_400) }, { role: 'user', content: user }],
    max_tokens: maxTokens,
  };
}

function text(chars: number): string {
  return FILLER.repeat(Math.ceil(chars / FILLER.length)).slice(0, chars);
}
