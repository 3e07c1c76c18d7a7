import { Type } from 'typebox';

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description: 'Any 1..255 printable ASCII characters, unique per purchase (a UUID is ideal). A retry with the same key and body within 24 h replays the first answer.',
      examples: ['8e0f6f0a-4b7e-4c4a-9d57-3c0a2f1b9e11'],
    }),
  ),
});
