// The wire format between a WorkerPool and its workers, shared by both sides so they
// cannot drift. Tasks and replies travel in batches: one postMessage per turn, not per task.

import type { MessagePort } from 'node:worker_threads';
import type { PinResult } from './pin.js';

/** Posted once on the worker's parentPort; everything after it uses `port`. */
export interface InitMessage {
  ringleaderInit: true;
  port: MessagePort;
  /** Int32 slot where the worker stores the id of the task it last started. */
  started: SharedArrayBuffer;
  /** Core to pin to, or null when the pool was opened without `pin`. */
  core: number | null;
  /** The user's worker file, which the bootstrap imports. */
  filename: string;
}

export const enum Op { Run, Cancel }
/**
 * `name` picks a named handler (an export of the worker file); absent: the default one.
 * `trace`: the caller's W3C trace context headers, sent only while ringleader/otel is on.
 */
export type Request =
  | [Op.Run, id: number, data: unknown, key: string | undefined, name?: string, trace?: TraceCarrier]
  | [Op.Cancel, id: number];

/** W3C trace context headers: `traceparent`, and `tracestate` when there is one. */
export type TraceCarrier = Readonly<Record<string, string>>;

export const enum Outcome { Ok, Error, Skipped }
export type Reply =
  | [id: number, Outcome.Ok, value: unknown, runMs: number]
  | [id: number, Outcome.Error, error: SerializedError, runMs: number]
  | [id: number, Outcome.Skipped];

export interface ReadyMessage {
  ready: PinResult | null;
}

export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  code: string | number | undefined;
}

export function isInit(message: unknown): message is InitMessage {
  return typeof message === 'object' && message !== null && (message as InitMessage).ringleaderInit === true;
}

// Structured clone keeps neither custom error classes nor `code`, so errors cross as
// plain fields and are rebuilt on the other side.
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
    };
  }
  return { name: 'Error', message: `non-error thrown: ${String(err)}`, stack: undefined, code: undefined };
}

const BUILTIN: Record<string, new (message: string) => Error> = {
  TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

export function deserializeError(s: SerializedError): Error {
  const err = new (BUILTIN[s.name] ?? Error)(s.message);
  if (err.name !== s.name) err.name = s.name;
  if (s.stack !== undefined) err.stack = s.stack;
  if (s.code !== undefined) (err as Error & { code: string | number }).code = s.code;
  return err;
}
