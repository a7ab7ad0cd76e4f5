// `npm run test:traced`: the behaviour suites again, with every diagnostics channel subscribed.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/scheduler/**/*.test.ts', 'test/resilience/**/*.test.ts', 'test/timers/**/*.test.ts', 'test/runtime/**/*.test.ts'],
    setupFiles: ['test/diagnostics/subscribe-all.ts'],
  },
});
