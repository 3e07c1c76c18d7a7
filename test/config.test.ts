import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const load = (env: Record<string, string>) => loadConfig(env, { dotenv: false });
const tempDir = () => mkdtempSync(join(tmpdir(), 'bookfast-config-'));

describe('loadConfig', () => {
  it('when nothing is set, then the old service defaults apply', () => {
    const config = load({ DATA_DIR: tempDir() });
    expect(config).toMatchObject({ port: 8000, host: '0.0.0.0', algorithm: 'HS256', accessTokenExpireMinutes: 30, databaseUrl: undefined, currency: 'EUR' });
  });

  it('when no SECRET_KEY is set outside production, then one is generated once and kept in the data folder', () => {
    const dir = tempDir();
    const first = load({ DATA_DIR: dir });
    expect(first.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'secret_key'), 'utf8')).toBe(first.secretKey);
    expect(load({ DATA_DIR: dir }).secretKey).toBe(first.secretKey);
  });

  it.each([
    [{ NODE_ENV: 'production' }, /SECRET_KEY is required/],
    [{ NODE_ENV: 'production', SECRET_KEY: 'too-short' }, /at least 32 bytes/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ ALGORITHM: 'none' }, /ALGORITHM/],
    [{ ALGORITHM: 'RS256' }, /ALGORITHM/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, /ACCESS_TOKEN_EXPIRE_MINUTES/],
    [{ CURRENCY: 'EURO' }, /CURRENCY must be an ISO 4217/],
    [{ CURRENCY: 'ABC' }, /CURRENCY must be an ISO 4217/],
  ])('when given %j, then it refuses to start with a clear message', (env, message) => {
    expect(() => load({ DATA_DIR: tempDir(), ...env })).toThrow(ConfigError);
    expect(() => load({ DATA_DIR: tempDir(), ...env })).toThrow(message);
  });

  it('when production brings a long key, then it is used', () => {
    const key = 'k'.repeat(40);
    expect(load({ NODE_ENV: 'production', SECRET_KEY: key, DATA_DIR: tempDir() }).secretKey).toBe(key);
  });
});
