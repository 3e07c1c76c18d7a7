import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bookingLimitPerProcess, ConfigError, describeLimits, loadConfig } from '../src/config.js';

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
    [{ NODE_ENV: 'production' }, /SECRET_KEY is required.*make one with: node -e .*openssl rand -base64 48/],
    [{ NODE_ENV: 'production', SECRET_KEY: 'too-short' }, /at least 32 bytes.*make one with: node -e .*openssl rand -base64 48/],
    [{ DATABASE_URL: 'postgresql+://x' }, /DATABASE_URL/],
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

  // Issue 16 (limit defaults): a developer clicking around never meets a limit; production gets strict ones.
  it('when NODE_ENV is not production, then the limits are loose; in production, strict; a set value wins in both', () => {
    const dev = load({ DATA_DIR: tempDir() });
    const prod = load({ NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(40), DATA_DIR: tempDir() });
    expect(prod.rateLimits).toMatchObject({ loginPerMinute: 30, loginFailures: 10, registerPerHour: 20, bookingsPerMinute: 600 });
    expect(prod.live).toEqual({ maxStreamsPerIp: 10, maxStreams: 1000 });
    expect(dev.rateLimits).toMatchObject({ loginPerMinute: 600, loginFailures: 100, registerPerHour: 1000, bookingsPerMinute: 60000 });
    expect(dev.live.maxStreamsPerIp).toBe(100);
    expect(load({ DATA_DIR: tempDir(), RATE_LIMIT_LOGIN_FAILURES: '3' }).rateLimits.loginFailures).toBe(3);
  });

  it.each([
    ['', false],
    ['false', false],
    ['true', true],
    ['10.0.0.1', ['10.0.0.1']],
    [' 10.0.0.0/8, 192.168.1.1 ,fd00::/8', ['10.0.0.0/8', '192.168.1.1', 'fd00::/8']],
    ['loopback', ['loopback']],
  ])('when TRUST_PROXY is %j, then it is read as %j', (value, expected) => {
    expect(load({ DATA_DIR: tempDir(), TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['1', 'proxy.example', '10.0.0.0/33', '10.0.0.1/8/1', '300.1.1.1'])('when TRUST_PROXY is %j, then start-up refuses it', (value) => {
    expect(() => load({ DATA_DIR: tempDir(), TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
  });

  it('when bookings are counted without Redis, then each process enforces its share, and the start-up line says so', () => {
    const base = { DATA_DIR: tempDir(), DATABASE_URL: 'postgres://x/y', RATE_LIMIT_BOOKINGS_PER_MINUTE: '600' };
    const two = load({ ...base, WORKERS: '2' });
    expect(bookingLimitPerProcess(two)).toBe(300);
    expect(describeLimits(two)).toContain('each of the 2 process(es) on this host allows 300');
    const shared = load({ ...base, WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(bookingLimitPerProcess(shared)).toBe(600);
    expect(describeLimits(shared)).toContain('shared through Redis');
    expect(describeLimits(load({ ...base, RATE_LIMITS: 'off' }))).toBe('rate limits: off (RATE_LIMITS=off)');
  });
});
