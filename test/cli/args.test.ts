// Flag parsing shared by every command: values are converted and checked against the spec,
// and anything unknown or out of range is a UsageError naming the flag.
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../lib/cli/args.js';

const SPEC = {
  count: { kind: 'integer', min: 1, max: 10 },
  scale: { kind: 'number', min: 0, max: 2, exclusiveMin: true },
  pick: { kind: 'list', choices: ['a', 'b', 'c'] },
  quiet: { kind: 'boolean' },
  out: { kind: 'string' },
  format: { kind: 'choice', choices: ['chrome', 'otlp'] },
} as const;

describe('parseArgs', () => {
  it('reads --name value, --name=value and bare booleans', () => {
    const { flags, help } = parseArgs(['--count', '3', '--scale=0.5', '--pick', 'c,a,c', '--quiet', '--out=x.html'], SPEC);
    expect(help).toBe(false);
    expect(flags).toEqual({ count: 3, scale: 0.5, pick: ['c', 'a'], quiet: true, out: 'x.html' });
  });

  it('reads a choice as the one value given', () => {
    expect(parseArgs(['--format', 'otlp'], SPEC).flags.format).toBe('otlp');
  });

  it('leaves absent flags undefined', () => {
    expect(parseArgs([], SPEC).flags).toEqual({});
  });

  it('answers --help even next to a bad flag', () => {
    expect(parseArgs(['--nope', '--help'], SPEC).help).toBe(true);
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-c', '3'], 'unknown option -c'],
    [['--count'], '--count needs a value'],
    [['--count', '--quiet'], '--count needs a value'],
    [['--count', '11'], '--count must be an integer from 1 to 10'],
    [['--count', ''], '--count must be an integer'],
    [['--count', '0x5'], '--count must be an integer'],
    [['--scale', '0'], '--scale must be a number above 0'],
    [['--scale', 'NaN'], '--scale must be a number above 0'],
    [['--pick', 'a,z'], '--pick takes a comma-separated list'],
    [['--pick', ','], '--pick takes a comma-separated list'],
    [['--format', 'chrome,otlp'], '--format must be one of chrome, otlp'],
    [['--quiet=1'], '--quiet takes no value'],
    [['--count', '1', '--count', '2'], '--count given twice'],
    [['stray'], 'unexpected argument stray'],
  ])('%j is a UsageError: %s', (args, message) => {
    expect(() => parseArgs(args, SPEC)).toThrow(UsageError);
    expect(() => parseArgs(args, SPEC)).toThrow(message);
  });

  it('takes up to maxPositionals bare arguments', () => {
    expect(parseArgs(['suite'], {}, 1).positionals).toEqual(['suite']);
    expect(() => parseArgs(['a', 'b'], {}, 1)).toThrow('unexpected argument b');
  });
});
