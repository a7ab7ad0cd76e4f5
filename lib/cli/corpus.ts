// The files the demo's agents read as tool calls: a small corpus of text documents written
// to a fresh temporary directory, the same bytes for the same seed, removed when done.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Corpus {
  dir: string;
  files: string[];
  bytes: number;
  remove(): Promise<void>;
}

const WORDS = ('incident deploy rollback latency budget retry queue shard ticket customer invoice refund ' +
  'schema migration index cache token window quota region replica failover alert runbook owner').split(' ');

/** Writes `count` documents of 4–32 KiB each. */
export async function createCorpus(count: number, seed: number): Promise<Corpus> {
  const dir = await mkdtemp(join(tmpdir(), 'ringleader-demo-'));
  const files: string[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < count; i++) {
      const text = documentText(i, seed);
      const path = join(dir, `doc-${String(i).padStart(3, '0')}.txt`);
      await writeFile(path, text);
      files.push(path);
      bytes += text.length;
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, files, bytes, remove: () => rm(dir, { recursive: true, force: true }) };
}

// A multiplicative hash of (seed, document, position): varied text with no PRNG state.
function documentText(doc: number, seed: number): string {
  const size = 4096 + (Math.imul(doc + 1, 0x9e3779b1) >>> 0) % (28 * 1024);
  const parts: string[] = [`# document ${doc}\n`];
  let length = parts[0]!.length;
  for (let w = 0; length < size; w++) {
    const h = Math.imul(seed ^ Math.imul(doc, 0x85ebca6b) ^ Math.imul(w, 0xc2b2ae35), 0x27d4eb2f) >>> 0;
    const word = WORDS[h % WORDS.length]! + (w % 12 === 11 ? '.\n' : ' ');
    parts.push(word);
    length += word.length;
  }
  return parts.join('').slice(0, size);
}
