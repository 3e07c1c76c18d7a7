import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// compose.yaml as someone trying BookFast locally meets it: `docker compose up` with no profile.
type Service = { profiles?: string[]; networks?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] } };
type Compose = { services: Record<string, Service>; networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null> };
const compose = parse(readFileSync('compose.yaml', 'utf8')) as Compose;
const byDefault = Object.entries(compose.services).filter(([, service]) => service.profiles === undefined);

describe('compose.yaml without a profile', () => {
  it('when the default services start, then none joins a network with a fixed address range (VPNs use those ranges)', () => {
    const fixed = Object.entries(compose.networks ?? {})
      .filter(([, network]) => (network?.ipam?.config ?? []).some((range) => range.subnet !== undefined))
      .map(([name]) => name);
    const joined = byDefault.flatMap(([name, service]) => (service.networks ?? ['default']).filter((network) => fixed.includes(network)).map((network) => `${name} -> ${network}`));
    expect(joined).toEqual([]);
  });

  it('when the API container runs, then Docker checks it on /health/ready', () => {
    expect(compose.services.api?.healthcheck?.test.join(' ')).toContain('/health/ready');
  });

  it('when SECRET_KEY is unset, then compose still starts (a profile in production needs it, and its API says so)', () => {
    const text = readFileSync('compose.yaml', 'utf8');
    expect(text).not.toContain('${SECRET_KEY:?');
  });

  it('when .env does not ask for production, then the API runs as in development', () => {
    expect(compose.services.api?.environment?.NODE_ENV).toBe('${NODE_ENV:-development}');
  });
});
