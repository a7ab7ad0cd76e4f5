// Command-line flags for every `ringleader` command, checked against a declared spec so
// a typo or a bad value stops the command with a one-line reason (exit 2) before any work.

/** Bad usage: the command prints the message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagSpec =
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'number'; min: number; max: number; exclusiveMin?: boolean }
  | { kind: 'string' }
  | { kind: 'list'; choices: readonly string[] }
  | { kind: 'choice'; choices: readonly string[] }
  | { kind: 'boolean' };

type FlagValue<S extends FlagSpec> = S extends { kind: 'integer' | 'number' } ? number
  : S extends { kind: 'list' } ? string[]
  : S extends { kind: 'choice'; choices: ReadonlyArray<infer C> } ? C
  : S extends { kind: 'boolean' } ? boolean
  : string;

export type Flags<T extends Record<string, FlagSpec>> = { [K in keyof T]?: FlagValue<T[K]> };

export interface Parsed<T extends Record<string, FlagSpec>> {
  flags: Flags<T>;
  positionals: string[];
  help: boolean;
}

/**
 * Parses `--name value`, `--name=value` and bare `--flag` booleans. `--help`/`-h` anywhere
 * wins, so help works even next to a bad flag. At most `maxPositionals` bare arguments.
 */
export function parseArgs<T extends Record<string, FlagSpec>>(args: readonly string[], spec: T,
  maxPositionals = 0): Parsed<T> {
  if (args.includes('--help') || args.includes('-h')) return { flags: {}, positionals: [], help: true };
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      if (positionals.length >= maxPositionals) throw new UsageError(`unexpected argument ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--?/, '');
    const flag = spec[name];
    if (!arg.startsWith('--') || flag === undefined) throw new UsageError(`unknown option ${eq === -1 ? arg : arg.slice(0, eq)}`);
    if (name in flags) throw new UsageError(`--${name} given twice`);
    if (flag.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (raw === undefined || (eq === -1 && raw.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    flags[name] = convert(name, flag, raw);
  }
  return { flags: flags as Flags<T>, positionals, help: false };
}

// Plain decimals only: Number() would also take '0x10', '1e3' as an integer, ' ' as 0.
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)$/;

function convert(name: string, flag: FlagSpec, raw: string): unknown {
  switch (flag.kind) {
    case 'integer': {
      const value = INTEGER.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || value < flag.min || value > flag.max) {
        throw new UsageError(`--${name} must be an integer from ${flag.min} to ${flag.max}, got ${JSON.stringify(raw)}`);
      }
      return value;
    }
    case 'number': {
      const value = DECIMAL.test(raw) ? Number(raw) : NaN;
      const low = flag.exclusiveMin === true ? value <= flag.min : value < flag.min;
      if (!Number.isFinite(value) || low || value > flag.max) {
        const bound = flag.exclusiveMin === true ? `above ${flag.min}` : `from ${flag.min}`;
        throw new UsageError(`--${name} must be a number ${bound} up to ${flag.max}, got ${JSON.stringify(raw)}`);
      }
      return value;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const bad = items.find((s) => !flag.choices.includes(s));
      if (items.length === 0 || bad !== undefined) {
        throw new UsageError(`--${name} takes a comma-separated list of ${flag.choices.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return [...new Set(items)];
    }
    case 'choice':
      if (!flag.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${flag.choices.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'string':
      if (raw === '') throw new UsageError(`--${name} needs a non-empty value`);
      return raw;
    default:
      throw new UsageError(`--${name} takes no value`);
  }
}
