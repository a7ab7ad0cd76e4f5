// The engine layer's public names, re-exported from the package root.
export { Engine } from './engine.js';
export { IdentityLockedError } from './identity-guard.js';
export { probe, pinCurrentThread } from './native.js';
export type { BackendChoice, BackendName, EngineOptions, FileStat, ReadFilesOptions } from './types.js';
