import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { retryDelayMs } from '../src/webhooks/backoff.js';
import { sendWebhook } from '../src/webhooks/sender.js';
import { newSigningSecret, signedHeaders } from '../src/webhooks/signing.js';
import { checkUrl, TargetRefused } from '../src/webhooks/target.js';
import { buildTestApp } from './helpers/build-test-app.js';
import { registerAndLogin } from './helpers/factories.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

describe('Standard Webhooks signing', () => {
  it('when signing the spec’s published example, then the signature is the published one', () => {
    // From the Standard Webhooks reference library's tests (libraries/javascript/src/webhook.test.ts).
    const headers = signedHeaders(
      { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', previousSecret: null },
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      new Date(1614265330 * 1000),
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('when a new secret is made, then it is whsec_ and 32 random bytes in base64, different each time', () => {
    const secret = newSigningSecret();
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(secret);
  });
});

describe('retry schedule', () => {
  it('when attempts fail, then the waits are about 5 s, 30 s, 2 min, 10 min, 1 h, then longer, each within ±20%', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, () => 0.5))).toEqual([5_000, 30_000, 120_000, 600_000, 3_600_000]);
    expect(retryDelayMs(1, low)).toBe(4_000);
    expect(retryDelayMs(1, high)).toBe(6_000);
    expect(retryDelayMs(50, () => 0.5)).toBe(24 * 3_600_000);
  });
});

describe('where webhooks may go', () => {
  const strict = { allowPrivate: false, allowHttp: false };
  const refused = (url: string, policy = strict) => {
    try {
      checkUrl(url, policy);
      return null;
    } catch (error) {
      expect(error).toBeInstanceOf(TargetRefused);
      return (error as Error).message;
    }
  };

  it('when production rules apply, then only https:// to public addresses passes', () => {
    expect(refused('https://hooks.example.com/bookfast')).toBeNull();
    expect(refused('https://93.184.216.34/h')).toBeNull();
    expect(refused('http://hooks.example.com/h')).toBe('url must be https://');
    expect(refused('http://hooks.example.com/h', { allowPrivate: false, allowHttp: true })).toBeNull();
    for (const url of [
      'https://127.0.0.1/h',
      'https://[::1]/h',
      'https://169.254.169.254/latest/meta-data',
      'https://10.1.2.3/h',
      'https://172.16.0.1/h',
      'https://192.168.1.1/h',
      'https://100.64.0.1/h',
      'https://0.0.0.0/h',
      'https://[fe80::1]/h',
      'https://[fd00::1]/h',
      'https://[::ffff:10.0.0.1]/h',
      // IPv4-compatible (::/96) and the other IPv4-embedding forms: NAT64, SIIT, 6to4, Teredo.
      'https://[::127.0.0.1]/',
      'https://[::a9fe:a9fe]/h',
      'https://[::10.0.0.1]/h',
      'https://[64:ff9b::10.0.0.1]/h',
      'https://[::ffff:0:10.0.0.1]/h',
      'https://[2002:a00:1::]/h',
      'https://[2001:0:a00:1::]/h',
      'https://localhost/h',
      'https://api.localhost/h',
    ]) {
      expect(refused(url), url).not.toBeNull();
    }
    expect(refused('https://127.0.0.1/h', { allowPrivate: true, allowHttp: false })).toBeNull();
  });

  it('when a target embeds an IPv4 address in IPv6 (::127.0.0.1, ::169.254.169.254), then registration and the send both refuse it', async () => {
    expect(refused('https://[::127.0.0.1]/h')).toBe('::7f00:1 is an IPv4-compatible address (set WEBHOOKS_ALLOW_PRIVATE=true to allow)');
    expect(refused('https://[::a9fe:a9fe]/h')).toMatch(/IPv4-compatible/);
    const receiver = await startWebhookReceiver();
    try {
      const port = new URL(receiver.url).port;
      const outcome = await sendWebhook(new URL(`http://[::127.0.0.1]:${port}/h`), {}, '{}', { allowPrivate: false, allowHttp: true, timeoutMs: 2000 });
      expect(outcome).toMatchObject({ statusCode: null, error: 'refused: ::7f00:1 is an IPv4-compatible address (set WEBHOOKS_ALLOW_PRIVATE=true to allow)' });
      expect(receiver.received).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('when a public-looking name resolves to loopback at send time (DNS rebinding), then nothing is sent', async () => {
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    const receiver = await startWebhookReceiver();
    try {
      const port = new URL(receiver.url).port;
      // This machine's own name resolves to a loopback address (it does in /etc/hosts here and on most hosts).
      expect(addresses.length > 0 && addresses.every((a) => a.address.startsWith('127.') || a.address === '::1'), JSON.stringify(addresses)).toBe(true);
      const outcome = await sendWebhook(new URL(`http://${name}:${port}/h`), {}, '{}', { allowPrivate: false, allowHttp: true, timeoutMs: 2000 });
      expect(outcome.statusCode).toBeNull();
      expect(outcome.error).toMatch(/^refused: 127\.[\d.]+ is a loopback address/);
      expect(receiver.received).toEqual([]);
      // The same send with private targets allowed arrives: the refusal above was the address check.
      const allowed = await sendWebhook(new URL(`http://${name}:${port}/h`), {}, '{}', { allowPrivate: true, allowHttp: true, timeoutMs: 2000 });
      expect(allowed).toMatchObject({ statusCode: 200, error: null });
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('when the app runs without WEBHOOKS_ALLOW_PRIVATE, then registering a loopback URL is a 422 and nothing is ever sent there', async () => {
    const t = await buildTestApp({ WEBHOOKS_POLL_MS: '20' });
    try {
      const admin = await registerAndLogin(t.app, 'root-webhooks@example.com');
      await setRoleByEmail(t.testDb.database.db, admin.email, 'admin');
      const response = await t.app.inject({ method: 'POST', url: '/webhooks', headers: admin.auth, payload: { url: 'http://127.0.0.1:9/h', events: ['event.updated'] } });
      expect(response.statusCode).toBe(422);
      expect(response.json<{ detail: unknown }>().detail).toEqual([
        { loc: ['body', 'url'], msg: '127.0.0.1 is a loopback address (set WEBHOOKS_ALLOW_PRIVATE=true to allow)', type: 'value_error' },
      ]);
    } finally {
      await t.close();
    }
  });
});

