// `npm run test:soak`: the long runs kept out of `npm test` — the soak suites and the
// scheduler's property tests with many more runs (PROP_RUNS, PROP_TIME_MS).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts', 'test/scheduler/property.test.ts', 'test/timers/long-durations.property.test.ts'],
    testTimeout: 900_000,
    pool: 'forks',
    fakeTimers: { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] },
  },
});
