import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { Type } from 'typebox';
import { BadRequest, Unauthorized } from '../errors.js';
import { bearer, ErrorOut, errorOut, ValidationErrorOut } from '../shapes/common.js';

const Limited = errorOut('Too many attempts, retry in 60 s');
import { AccountOut, Credentials, LoginForm, PasswordChange, TokenOut, UserOut } from './schemas.js';
import { authenticateUser, changePassword, myAccount, registerUser } from './service.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  config: Config;
}

export async function authRoutes(instance: FastifyInstance, { db, config }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: Credentials,
        response: { 200: UserOut, 400: ErrorOut, 422: ValidationErrorOut, 429: Limited },
      },
    },
    // Every account starts as a customer: roles are given only by an operator (npm run user:promote).
    (request) => registerUser(db, request.body.email, request.body.password, config.bcryptCost),
  );

  app.post(
    '/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password for a bearer token',
        description: 'OAuth2 password form (`username` is the email), or the same fields as JSON.',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: LoginForm,
        response: { 200: TokenOut, 401: ErrorOut, 422: ValidationErrorOut, 429: Limited },
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const check = () => authenticateUser(db, username, password, config.bcryptCost);
      // The failure slot is taken before bcrypt: parallel guesses cannot all pass one check.
      const user = app.failureLimit
        ? await app.failureLimit.guard(`login:${username.trim().toLowerCase()}`, check, (error) => error instanceof Unauthorized)
        : await check();
      return { access_token: app.issueToken(user), token_type: 'bearer' as const };
    },
  );

  app.get(
    '/me',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'My account: email, role, and whether I may create events',
        security: bearer,
        response: { 200: AccountOut, 401: ErrorOut },
      },
    },
    (request) => myAccount(db, request.user.id, config.openEventCreation),
  );

  app.post(
    '/logout',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'Revoke every token of the caller (this one included)',
        security: bearer,
        response: { 204: Type.Null(), 401: ErrorOut },
      },
    },
    async (request, reply) => {
      await app.tokenVersions.bump(request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/password',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'Change my password; earlier tokens stop working, a new one is returned',
        security: bearer,
        body: PasswordChange,
        response: { 200: TokenOut, 400: ErrorOut, 401: ErrorOut, 422: ValidationErrorOut, 429: Limited },
      },
    },
    async (request) => {
      const { current_password, new_password } = request.body;
      const userId = request.user.id;
      const check = () => changePassword(db, userId, current_password, new_password, config.bcryptCost);
      // The same per-account failure limit as login: a stolen token must not become a password oracle.
      const user = app.failureLimit
        ? await app.failureLimit.guard(`password:${userId}`, check, (error) => error instanceof BadRequest)
        : await check();
      app.tokenVersions.changed(user.id, user.tokenVersion);
      return { access_token: app.issueToken(user), token_type: 'bearer' as const };
    },
  );
}
