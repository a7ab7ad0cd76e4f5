// binding.gyp (install path) and CMakeLists.txt (developer path) must compile the same
// native core: this compares binding.gyp's list with native/core/sources.cmake.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { root } from './helpers.js';

it('binding.gyp compiles exactly the core sources listed in native/core/sources.cmake', () => {
  const cmake = readFileSync(join(root, 'native/core/sources.cmake'), 'utf8');
  const block = /set\(RINGLEADER_CORE_SOURCES([^)]*)\)/.exec(cmake)?.[1] ?? '';
  const fromCmake = block.split(/\s+/).filter((s) => s.endsWith('.cc')).sort();
  const gyp = readFileSync(join(root, 'binding.gyp'), 'utf8');
  const fromGyp = [...gyp.matchAll(/"(native\/core\/[^"]+\.cc)"/g)].map((m) => m[1]!).sort();
  expect(fromCmake.length).toBeGreaterThan(0);
  expect(fromGyp).toEqual(fromCmake);
});
