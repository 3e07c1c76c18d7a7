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
    expect(config).toMatchObject({ port: 8000, host: '0.0.0.0', algorithm: 'HS256', accessTokenExpireMinutes: 30, databaseUrl: undefined });
  });

  it('when no SECRET_KEY is set outside production, then one is generated once and kept in the data folder', () => {
    const dir = tempDir();
    const first = load({ DATA_DIR: dir });
    expect(first.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'secret_key'), 'utf8')).toBe(first.secretKey);
    expect(load({ DATA_DIR: dir }).secretKey).toBe(first.secretKey);
  });

  it.each([
    [{ NODE_ENV: 'production' }, /SECRET_KEY is required.*make one with: node -e .*openssl rand -base64 48/],
    [{ NODE_ENV: 'production', SECRET_KEY: 'too-short' }, /at least 32 bytes.*make one with: node -e .*openssl rand -base64 48/],
    [{ DATABASE_URL: 'postgresql+://x' }, /DATABASE_URL/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ ALGORITHM: 'none' }, /ALGORITHM/],
    [{ ALGORITHM: 'RS256' }, /ALGORITHM/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, /ACCESS_TOKEN_EXPIRE_MINUTES/],
  ])('when given %j, then it refuses to start with a clear message', (env, message) => {
    expect(() => load({ DATA_DIR: tempDir(), ...env })).toThrow(ConfigError);
    expect(() => load({ DATA_DIR: tempDir(), ...env })).toThrow(message);
  });

  it.each([
    ['postgresql+asyncpg://app:secret@db:5432/bookfast', 'postgresql://app:secret@db:5432/bookfast', '+asyncpg'],
    ['postgresql+psycopg://app@localhost/bookfast?sslmode=require', 'postgresql://app@localhost/bookfast?sslmode=require', '+psycopg'],
    ['postgres+psycopg2://app@localhost/bookfast', 'postgres://app@localhost/bookfast', '+psycopg2'],
  ])('when DATABASE_URL is the SQLAlchemy form %s, then the driver part is dropped with one warning line', (given, used, driver) => {
    const warnings: string[] = [];
    const config = loadConfig({ DATA_DIR: tempDir(), DATABASE_URL: given }, { dotenv: false, warn: (line) => warnings.push(line) });
    expect(config.databaseUrl).toBe(used);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(driver);
    // The warning names the scheme only, never the password in the URL.
    expect(warnings[0]).not.toContain('secret');
  });

  it('when DATABASE_URL is a plain postgres URL, then nothing is rewritten or reported', () => {
    const warnings: string[] = [];
    const url = 'postgres://app@localhost:5432/bookfast';
    expect(loadConfig({ DATA_DIR: tempDir(), DATABASE_URL: url }, { dotenv: false, warn: (line) => warnings.push(line) }).databaseUrl).toBe(url);
    expect(warnings).toEqual([]);
  });

  it('when production brings a long key, then it is used', () => {
    const key = 'k'.repeat(40);
    expect(load({ NODE_ENV: 'production', SECRET_KEY: key, DATA_DIR: tempDir() }).secretKey).toBe(key);
  });
});
