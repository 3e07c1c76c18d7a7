import { Type } from 'typebox';

export const CheckInBody = Type.Object({
  code: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'The ticket’s check-in code, as read from its QR code (surrounding spaces are ignored)',
    examples: ['q7Vt0yqkM1b3Zc0m6k2k1w7Qm8yN2e6R0u3Xn4Zp'],
  }),
});

export const QR_FORMATS = {
  svg: 'image/svg+xml',
  png: 'image/png',
} as const;
export type QrFormat = keyof typeof QR_FORMATS;
