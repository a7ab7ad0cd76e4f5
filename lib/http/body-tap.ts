// A pass-through for a response body: each chunk goes to the caller the moment the caller
// asks for it, and a copy goes to an observer; `done` tells when the body has ended, failed,
// been cancelled, or sat unread past `idleMs` (so a dropped Response cannot hold a slot forever).

import { clearTimer, setTimer, type TimerHandle } from '../timer.js';

export type TapEnd = 'end' | 'error' | 'cancel' | 'idle';

export interface Tap {
  stream: ReadableStream<Uint8Array>;
  done: Promise<TapEnd>;
}

export function tapBody(body: ReadableStream<Uint8Array>, observe: (chunk: Uint8Array) => void, idleMs: number): Tap {
  const reader = body.getReader();
  let finish!: (end: TapEnd) => void;
  let finished = false;
  const done = new Promise<TapEnd>((resolve) => {
    finish = (end) => {
      if (finished) return;
      finished = true;
      clearTimer(idle);
      resolve(end);
    };
  });
  let idle: TimerHandle | undefined;
  const armIdle = (): void => {
    clearTimer(idle);
    idle = setTimer(() => finish('idle'), idleMs);
    // The caller's own pace decides; an idle guard must not keep the process alive.
    idle?.unref();
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      clearTimer(idle);
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (err) {
        finish('error');
        controller.error(err);
        return;
      }
      if (result.done) {
        finish('end');
        controller.close();
        return;
      }
      try {
        observe(result.value);
      } catch {
        // Observing is best effort: it never breaks the caller's body.
      }
      controller.enqueue(result.value);
      armIdle();
    },
    async cancel(reason) {
      finish('cancel');
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  armIdle();
  return { stream, done };
}
