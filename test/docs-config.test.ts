import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { CONFIGURATION_DOC, ENV_EXAMPLE, renderConfigurationDoc, renderEnvExample, settings } from '../scripts/docs-config.js';

const STALE = 'is stale: run `npm run docs:config` and commit docs/operations/configuration.md and .env.example';
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('the configuration documented once, from the env schema', () => {
  it('when the schema is rendered now, then docs/operations/configuration.md is exactly that', () => {
    // Arrange
    const rendered = renderConfigurationDoc();

    // Act
    const committed = read(CONFIGURATION_DOC);

    // Assert
    expect(committed, `${CONFIGURATION_DOC} ${STALE}`).toBe(rendered);
  });

  it('when the schema is rendered now, then .env.example is exactly that', () => {
    expect(read(ENV_EXAMPLE), `${ENV_EXAMPLE} ${STALE}`).toBe(renderEnvExample());
  });

  it('when every setting is listed, then each has a meaning and a default, and strict ones say their production value', () => {
    // Act
    const all = settings();
    const byName = new Map(all.map((s) => [s.name, s]));

    // Assert
    for (const s of all) {
      expect(s.meaning.length, s.name).toBeGreaterThan(10);
      expect(s.fallback, s.name).not.toBe('');
    }
    expect(byName.get('BCRYPT_COST')).toMatchObject({ fallback: '10', production: '12' });
    expect(byName.get('RATE_LIMIT_BOOKINGS_PER_MINUTE')).toMatchObject({ fallback: '60000', production: '600' });
    expect(byName.get('WEBHOOKS_ALLOW_HTTP')).toMatchObject({ fallback: 'true', production: 'false' });
    expect(byName.get('PORT')).toMatchObject({ fallback: '`8000`', allowed: '0..65535' });
  });

  it('when .env.example is copied to .env as it is, then the server starts with the documented defaults', () => {
    // Arrange: what a reader gets from `cp .env.example .env`.
    const env = parse(read(ENV_EXAMPLE));
    const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-env-example-'));

    // Act: in a folder of its own, where the development key is generated.
    const config = loadConfig({ ...env, DATA_DIR: dataDir }, { dotenv: false, warn: () => undefined });
    rmSync(dataDir, { recursive: true, force: true });

    // Assert
    expect(env).not.toHaveProperty('ADMIN_EMAILS');
    expect(env.DATA_DIR).toBe('./data');
    expect(config).toMatchObject({ port: 8000, host: '0.0.0.0', production: false });
  });
});
