/**
 * A small typed env-var schema: each function declares the variables it reads, `loadConfig` validates them
 * all at start-up and reports every problem at once, naming the variable (docs/design.md §9).
 * Keys of a schema are the env var names themselves, so `config.PORT` greps to `PORT`.
 */

export interface VarSpec<T> {
  readonly description: string;
  /** Never echo the value in errors or logs. */
  readonly secret?: boolean;
  /** Shown in docs; the typed default is applied by `parse`. */
  readonly defaultText?: string;
  readonly required: boolean;
  /** Human-readable type for docs and error messages. */
  readonly typeText: string;
  /** `raw` is undefined when the variable is unset or empty. Throws Error with a message for people. */
  parse(raw: string | undefined): T;
}

export type ConfigSchema = Record<string, VarSpec<unknown>>;
export type ConfigOf<S extends ConfigSchema> = { readonly [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: readonly { variable: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}`);
  }
}

interface Common<T> {
  description: string;
  default?: T;
  secret?: boolean;
}
type Spec<T, O> = O extends { default: unknown } ? VarSpec<T> : O extends { optional: true } ? VarSpec<T | undefined> : VarSpec<T>;

function make<T>(
  typeText: string,
  opts: Common<T> & { optional?: boolean },
  convert: (raw: string) => T,
  show: (v: T) => string = String,
): VarSpec<T | undefined> {
  const hasDefault = opts.default !== undefined;
  return {
    description: opts.description,
    typeText,
    required: !hasDefault && !opts.optional,
    ...(opts.secret ? { secret: true } : {}),
    ...(hasDefault ? { defaultText: show(opts.default as T) } : {}),
    parse(raw) {
      if (raw === undefined) {
        if (hasDefault) return opts.default;
        if (opts.optional) return undefined;
        throw new Error(`is required (${typeText}): ${opts.description}`);
      }
      return convert(raw);
    },
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Builders for variable specs. `optional: true` makes the type `T | undefined`; `default` makes it `T`. */
export const env = {
  string<O extends Common<string> & { optional?: boolean; pattern?: RegExp }>(opts: O): Spec<string, O> {
    return make('string', opts, (raw) => {
      if (opts.pattern && !opts.pattern.test(raw)) {
        throw new Error(`must match ${opts.pattern.source}${opts.secret ? '' : `, got ${JSON.stringify(raw)}`}`);
      }
      return raw;
    }) as Spec<string, O>;
  },
  int<O extends Common<number> & { optional?: boolean; min?: number; max?: number }>(opts: O): Spec<number, O> {
    const range = `${opts.min ?? '-inf'}..${opts.max ?? 'inf'}`;
    return make(`integer ${range}`, opts, (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        throw new Error(`must be in ${range}, got ${n}`);
      }
      return n;
    }) as Spec<number, O>;
  },
  bool<O extends Common<boolean> & { optional?: boolean }>(opts: O): Spec<boolean, O> {
    return make('boolean (true/false/1/0/yes/no)', opts, (raw) => {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new Error(`must be true or false, got ${JSON.stringify(raw)}`);
    }) as Spec<boolean, O>;
  },
  enum<const V extends string, O extends Common<V> & { optional?: boolean }>(values: readonly V[], opts: O): Spec<V, O> {
    return make(values.join(' | '), opts, (raw) => {
      const v = raw.trim();
      if (!(values as readonly string[]).includes(v)) throw new Error(`must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
      return v as V;
    }) as Spec<V, O>;
  },
  url<O extends Common<string> & { optional?: boolean; protocols?: string[] }>(opts: O): Spec<string, O> {
    const protocols = opts.protocols ?? ['http:', 'https:'];
    return make(`URL (${protocols.join(', ')})`, opts, (raw) => {
      let u: URL;
      try {
        u = new URL(raw.trim());
      } catch {
        throw new Error(`must be an absolute URL${opts.secret ? '' : `, got ${JSON.stringify(raw)}`}`);
      }
      if (!protocols.includes(u.protocol)) throw new Error(`must use ${protocols.join(' or ')}, got ${u.protocol}`);
      return raw.trim().replace(/\/+$/, '');
    }) as Spec<string, O>;
  },
  /** A byte size: `1048576`, `512kb`, `5mb`, `1gib`. */
  bytes<O extends Common<number> & { optional?: boolean; min?: number; max?: number }>(opts: O): Spec<number, O> {
    return make('byte size (e.g. 512kb, 5mb)', opts, (raw) => {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
      const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
      if (!m || unit === undefined) throw new Error(`must be a size like 1048576, 512kb or 5mb, got ${JSON.stringify(raw)}`);
      const n = Math.floor(Number(m[1]) * unit);
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        throw new Error(`must be between ${opts.min ?? 0} and ${opts.max ?? 'inf'} bytes, got ${n}`);
      }
      return n;
    }, (v) => `${v}`) as Spec<number, O>;
  },
  /** A duration in milliseconds: `250ms`, `30s`, `5m`, `1h`, or a bare number of milliseconds. */
  duration<O extends Common<number> & { optional?: boolean; min?: number; max?: number }>(opts: O): Spec<number, O> {
    return make('duration (e.g. 500ms, 30s, 5m)', opts, (raw) => {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(raw.trim());
      if (!m) throw new Error(`must be a duration like 500ms, 30s or 5m, got ${JSON.stringify(raw)}`);
      const n = Math.round(Number(m[1]) * TIME_UNITS[(m[2] ?? 'ms').toLowerCase()]!);
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        throw new Error(`must be between ${opts.min ?? 0}ms and ${opts.max ?? 'inf'}ms, got ${n}ms`);
      }
      return n;
    }, (v) => `${v}ms`) as Spec<number, O>;
  },
};

/**
 * Validate `source` (default: process.env) against the schema. Empty strings count as unset.
 * Throws ConfigError listing every bad or missing variable.
 */
export function loadConfig<S extends ConfigSchema>(schema: S, source: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const issues: { variable: string; message: string }[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const raw = source[name];
    try {
      out[name] = spec.parse(raw === undefined || raw.trim() === '' ? undefined : raw);
    } catch (err) {
      issues.push({ variable: name, message: (err as Error).message });
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return Object.freeze(out) as ConfigOf<S>;
}

/** A Markdown table of the schema (for CONFIG.md / README). */
export function describeConfig(schema: ConfigSchema): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = Object.entries(schema).map(
    ([name, s]) =>
      `| \`${name}\` | ${cell(s.typeText)} | ${s.required ? 'yes' : 'no'} | ${s.defaultText !== undefined ? `\`${s.defaultText}\`` : ''} | ${cell(s.description)}${s.secret ? ' (secret: never logged)' : ''} |`,
  );
  return ['| variable | type | required | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
