import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../app.js';
import { ErrorOut, ValidationErrorOut } from '../http/schemas.js';
import { Credentials, LoginForm, TokenOut, UserOut } from './schemas.js';
import { authenticateUser, registerUser } from './service.js';

export async function authRoutes(instance: FastifyInstance, { db, config }: Deps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: Credentials,
        response: { 200: UserOut, 400: ErrorOut, 422: ValidationErrorOut },
      },
    },
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
        response: { 200: TokenOut, 401: ErrorOut, 422: ValidationErrorOut },
      },
    },
    async (request) => {
      const user = await authenticateUser(db, request.body.username, request.body.password, config.bcryptCost);
      return { access_token: app.issueToken(user), token_type: 'bearer' as const };
    },
  );
}
