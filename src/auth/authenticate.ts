import { createSigner, createVerifier } from 'fast-jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { Unauthorized } from '../errors.js';
import { TokenVersions } from './token-versions.js';

export interface AuthUser {
  id: number;
  email: string;
}

interface TokenPayload {
  sub: string;
  email: string;
  ver: number;
  iat: number;
  exp: number;
}

/**
 * Tokens that passed verification, until they expire, so a buyer hammering /book pays decoding and the HMAC
 * (about 9 µs) once. Keyed by the token itself: fast-jwt's own cache keys by a SHA-256 of the token, which
 * costs a third of a verification, and warns at startup when given any other key. Oldest out first past
 * `size`. Revocation is not cached: the token version is checked on every request.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, TokenPayload>();

  constructor(private readonly size: number) {}

  get(token: string): TokenPayload | undefined {
    const payload = this.entries.get(token);
    if (payload === undefined) return undefined;
    if (payload.exp * 1000 > Date.now()) return payload;
    this.entries.delete(token);
    return undefined;
  }

  /** Only for a payload that passed verification, which requires a numeric `exp`. */
  add(token: string, payload: TokenPayload): void {
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, payload);
  }
}

const ISSUER = 'bookfast';
const AUDIENCE = 'bookfast-api';
const CLOCK_SKEW_SECONDS = 30;

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for routes that need a signed-in user; sets request.user or answers 401. */
    authenticate(request: FastifyRequest): Promise<void>;
    issueToken(user: AuthUser & { tokenVersion: number }): string;
    tokenVersions: TokenVersions;
  }
  interface FastifyRequest {
    /** Set by app.authenticate; only routes that ran it may read it. */
    user: AuthUser & { tokenVersion: number; issuedAt: number };
  }
}

// The user id travels in `sub`, so the booking path verifies a token (microseconds, HMAC) without a query.
// Tokens carry sub, email, ver (the user's token version), iat, exp, iss and aud. fast-jwt is used directly
// (it is the library under @fastify/jwt, which decoded every token a second time to find its key).
export const authPlugin = fp(async (app: FastifyInstance, options: { config: Config; db: Db }) => {
  const { config } = options;
  const sign = createSigner({
    key: config.secretKey,
    algorithm: config.algorithm,
    expiresIn: config.accessTokenExpireMinutes * 60_000,
    iss: ISSUER,
    aud: AUDIENCE,
  });
  const verify = createVerifier({
    key: config.secretKey,
    // Pinning the algorithm refuses `none` and any other HMAC or RSA variant a forger might choose.
    algorithms: [config.algorithm],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    // Every token this service issues has them all; a token missing one is not ours, whatever key signed it.
    requiredClaims: ['iss', 'aud', 'iat', 'exp', 'sub', 'ver'],
  });
  // A flash sale's crowd, not a hundred regulars: with fewer entries than the tokens in use, buyers who come
  // back in turn each find theirs evicted (oldest out first), and every request paid the verification: a
  // crowd of 25,600 buyers ran 15 to 20% slower than 200 buyers at 10,000 (bench (c-crowd)). About 0.5 KB an
  // entry (a 250-character token and its payload): 50 MB at most.
  const verified = new VerifiedTokens(100_000);

  app.decorateRequest('user', null as unknown as FastifyRequest['user']);
  const tokenVersions = new TokenVersions(options.db, { ttlMs: config.tokenVersionCacheMs, tokenLifetimeMs: config.accessTokenExpireMinutes * 60_000 });
  app.decorate('tokenVersions', tokenVersions);
  app.addHook('onClose', () => tokenVersions.stop());
  app.decorate('issueToken', (user: AuthUser & { tokenVersion: number }) =>
    sign({ sub: String(user.id), email: user.email, ver: user.tokenVersion }),
  );

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new Unauthorized('Not authenticated');
    const token = match[1]!;
    let payload = verified.get(token);
    if (!payload) {
      try {
        payload = verify(token) as TokenPayload;
      } catch {
        throw new Unauthorized();
      }
      verified.add(token, payload);
    }
    const user = { id: Number(payload.sub), email: payload.email, tokenVersion: payload.ver, issuedAt: payload.iat };
    if (typeof payload.sub !== 'string' || !/^[1-9][0-9]*$/.test(payload.sub) || !Number.isSafeInteger(user.id) || !Number.isSafeInteger(user.tokenVersion)) throw new Unauthorized();
    if (typeof user.issuedAt !== 'number' || !Number.isFinite(user.issuedAt)) throw new Unauthorized();
    if (user.issuedAt > Date.now() / 1000 + CLOCK_SKEW_SECONDS) throw new Unauthorized();
    // A logout or password change bumped the version: every token issued before it is dead.
    if (!(await app.tokenVersions.isCurrent(user.id, user.tokenVersion, user.issuedAt))) throw new Unauthorized('Token has been revoked');
    request.user = user;
  });
});
