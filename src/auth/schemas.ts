import { Type, type Static } from 'typebox';

export const Credentials = Type.Object({
  email: Type.String({ format: 'email', maxLength: 320, examples: ['ada@example.com'] }),
  password: Type.String({ minLength: 8, maxLength: 72, description: '8 to 72 bytes', examples: ['correct horse battery'] }),
});

export const UserOut = Type.Object(
  { id: Type.Integer(), email: Type.String() },
  { examples: [{ id: 1, email: 'ada@example.com' }] },
);

// OAuth2 password form (username = email); also accepted as JSON.
export const LoginForm = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 320, examples: ['ada@example.com'] }),
  password: Type.String({ minLength: 1, maxLength: 1024, examples: ['correct horse battery'] }),
  grant_type: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
});

export const TokenOut = Type.Object(
  { access_token: Type.String(), token_type: Type.Literal('bearer') },
  { examples: [{ access_token: 'eyJhbGciOiJIUzI1NiJ9...', token_type: 'bearer' }] },
);

export const PasswordChange = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: Type.String({ minLength: 8, maxLength: 72, description: '8 to 72 bytes' }),
});

export const AccountOut = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    role: Type.Union([Type.Literal('customer'), Type.Literal('organizer'), Type.Literal('admin')]),
    may_create_events: Type.Boolean({ description: 'POST /events would be allowed (OPEN_EVENT_CREATION, or an organizer or admin)' }),
  },
  { examples: [{ id: 1, email: 'ada@example.com', role: 'organizer', may_create_events: true }] },
);
export type AccountOut = Static<typeof AccountOut>;
