// `ringleader/fetch`: the drop-in for code that already calls fetch — a scheduled fetch for
// an SDK's `fetch` option and an undici dispatcher for `setGlobalDispatcher()`.

export { scheduledFetch } from './scheduled-fetch.js';
export type { ScheduledFetch } from './scheduled-fetch.js';
export { scheduledDispatcher, scheduledInterceptor } from './dispatcher.js';
export type { ScheduledDispatcherOptions } from './dispatcher.js';
export { readLimitHeaders } from './header-limits.js';
export type { HeaderReading, LimitName, LimitReading } from './header-limits.js';
export type { LearnedLimit } from './lane-budget.js';
export type { LaneStats, OriginStats, ScheduledFetchOptions, ScheduledFetchStats, ScheduledHttpControl } from './types.js';
