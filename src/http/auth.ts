import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TokenVersions } from '../auth/token-versions.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { Unauthorized } from './errors.js';

export interface AuthUser {
  id: number;
  email: string;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; email: string; ver: number; iat?: number };
    user: AuthUser & { tokenVersion: number; issuedAt: number };
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
}

// The user id travels in `sub`, so the booking path verifies a token (microseconds, HMAC) without a query.
// Tokens carry sub, email, ver (the user's token version), iat, exp, iss and aud.
export const authPlugin = fp(async (app: FastifyInstance, options: { config: Config; db: Db }) => {
  const { config } = options;
  await app.register(fastifyJwt, {
    secret: config.secretKey,
    sign: { algorithm: config.algorithm, expiresIn: `${config.accessTokenExpireMinutes}m`, iss: ISSUER, aud: AUDIENCE },
    // Pinning the algorithm refuses `none` and any other HMAC or RSA variant a forger might choose.
    // The cache remembers verified tokens (until they expire): a buyer hammering /book pays the HMAC once.
    verify: { algorithms: [config.algorithm], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: 10_000 },
    formatUser: (payload) => ({
      id: Number(payload.sub),
      email: payload.email,
      tokenVersion: payload.ver,
      issuedAt: payload.iat ?? 0,
    }),
  });

  app.decorate('tokenVersions', new TokenVersions(options.db, config.tokenVersionCacheMs));
  app.decorate('issueToken', (user: AuthUser & { tokenVersion: number }) =>
    app.jwt.sign({ sub: String(user.id), email: user.email, ver: user.tokenVersion }),
  );

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header || !/^Bearer\s+\S+$/i.test(header)) throw new Unauthorized('Not authenticated');
    try {
      await request.jwtVerify();
    } catch {
      throw new Unauthorized();
    }
    const { id, tokenVersion, issuedAt } = request.user;
    if (!Number.isSafeInteger(id) || id < 1 || !Number.isSafeInteger(tokenVersion)) throw new Unauthorized();
    if (issuedAt > Date.now() / 1000 + CLOCK_SKEW_SECONDS) throw new Unauthorized();
    // A logout or password change bumped the version: every token issued before it is dead.
    if ((await app.tokenVersions.current(id)) !== tokenVersion) throw new Unauthorized('Token has been revoked');
  });
});
