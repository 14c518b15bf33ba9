import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError, describeConfig, env, loadConfig } from '../../../shared/config/index.js';
import { serverConfigSchema } from '../../../shared/server/index.js';
import { thrownBy } from '../../support/thrown.js';

describe('loadConfig', () => {
  it('applies defaults for the host schema', () => {
    const c = loadConfig(serverConfigSchema, {});
    expect(c).toMatchObject({ PORT: 8080, LOG_LEVEL: 'info', BODY_LIMIT: 5 * 1024 * 1024, SHUTDOWN_TIMEOUT: 30_000, REPLY_EVENTS: true });
    expect(c.HOST).toBeUndefined();
    expectTypeOf(c.PORT).toEqualTypeOf<number>();
    expectTypeOf(c.HOST).toEqualTypeOf<string | undefined>();
    expectTypeOf(c.LOG_LEVEL).toEqualTypeOf<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>();
  });

  it('parses sizes, durations, booleans; empty counts as unset', () => {
    const c = loadConfig(serverConfigSchema, { BODY_LIMIT: '512kb', SHUTDOWN_TIMEOUT: '2m', REPLY_EVENTS: 'no', PORT: '', LOG_LEVEL: ' ' });
    expect(c).toMatchObject({ BODY_LIMIT: 512 * 1024, SHUTDOWN_TIMEOUT: 120_000, REPLY_EVENTS: false, PORT: 8080, LOG_LEVEL: 'info' });
    expect(loadConfig(serverConfigSchema, { SHUTDOWN_TIMEOUT: '1500' }).SHUTDOWN_TIMEOUT).toBe(1500);
    expect(loadConfig(serverConfigSchema, { BODY_LIMIT: '1.5MiB' }).BODY_LIMIT).toBe(1572864);
  });

  it('reports every bad variable at once, by name', () => {
    const err = thrownBy(() => loadConfig(serverConfigSchema, { PORT: '70000', BODY_LIMIT: 'lots', LOG_LEVEL: 'loud', REPLY_EVENTS: 'maybe', SHUTDOWN_TIMEOUT: '5 days' }));
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(issues).toEqual(['BODY_LIMIT', 'LOG_LEVEL', 'PORT', 'REPLY_EVENTS', 'SHUTDOWN_TIMEOUT']);
    expect((err as Error).message).toContain('PORT: must be in 0..65535, got 70000');
    expect((err as Error).message).toContain('LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
  });

  it('required, optional, url and secret variables', () => {
    const schema = {
      REGISTRY_URL: env.url({ description: 'Registry base URL.' }),
      REGISTRY_PASSWORD: env.string({ description: 'Registry password.', secret: true, pattern: /^\S+$/ }),
      CA_FILE: env.string({ description: 'CA bundle.', optional: true }),
    };
    const ok = loadConfig(schema, { REGISTRY_URL: 'https://zot.local:5000/', REGISTRY_PASSWORD: 's3cr3t' });
    expect(ok).toEqual({ REGISTRY_URL: 'https://zot.local:5000', REGISTRY_PASSWORD: 's3cr3t', CA_FILE: undefined });
    expectTypeOf(ok.REGISTRY_URL).toEqualTypeOf<string>();
    expectTypeOf(ok.CA_FILE).toEqualTypeOf<string | undefined>();

    const err = thrownBy(() => loadConfig(schema, { REGISTRY_URL: 'ftp://x', REGISTRY_PASSWORD: 'has space' })) as ConfigError;
    expect(err.message).toContain('REGISTRY_URL: must use http: or https:');
    expect(err.message).toContain('REGISTRY_PASSWORD: must match');
    expect(err.message).not.toContain('has space');
    const missing = thrownBy(() => loadConfig(schema, {})) as ConfigError;
    expect(missing.issues.map((i) => i.variable)).toEqual(['REGISTRY_URL', 'REGISTRY_PASSWORD']);
    expect(missing.message).toContain('REGISTRY_URL: is required');
  });

  it('describeConfig renders a Markdown table', () => {
    const md = describeConfig(serverConfigSchema);
    expect(md.split('\n')[0]).toBe('| variable | type | required | default | meaning |');
    expect(md).toContain('| `PORT` | integer 0..65535 | no | `8080` |');
  });
});
