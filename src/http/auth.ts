import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { Unauthorized } from './errors.js';

export interface AuthUser {
  id: number;
  email: string;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; email: string };
    user: AuthUser;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for routes that need a signed-in user; sets request.user or answers 401. */
    authenticate(request: FastifyRequest): Promise<void>;
    issueToken(user: AuthUser): string;
  }
}

// The user id travels in `sub`, so the booking path verifies a token (microseconds, HMAC) without a query.
export const authPlugin = fp(async (app: FastifyInstance, options: { config: Config }) => {
  const { config } = options;
  await app.register(fastifyJwt, {
    secret: config.secretKey,
    sign: { algorithm: config.algorithm, expiresIn: `${config.accessTokenExpireMinutes}m` },
    // Pinning the algorithm refuses `none` and any other HMAC or RSA variant a forger might choose.
    // The cache remembers verified tokens (until they expire): a buyer hammering /book pays the HMAC once.
    verify: { algorithms: [config.algorithm], cache: 10_000 },
    formatUser: (payload) => ({ id: Number(payload.sub), email: payload.email }),
  });

  app.decorate('issueToken', (user: AuthUser) => app.jwt.sign({ sub: String(user.id), email: user.email }));

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header || !/^Bearer\s+\S+$/i.test(header)) throw new Unauthorized('Not authenticated');
    try {
      await request.jwtVerify();
    } catch {
      throw new Unauthorized();
    }
    if (!Number.isSafeInteger(request.user.id) || request.user.id < 1) throw new Unauthorized();
  });
});
