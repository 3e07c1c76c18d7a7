import { Type, type Static } from 'typebox';

export const WaitlistPlaceOut = Type.Object(
  {
    event_id: Type.Integer(),
    user_id: Type.Integer(),
    position: Type.Integer({ minimum: 1, description: '1 = next to get a hold when a seat comes back' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { examples: [{ event_id: 7, user_id: 42, position: 3, created_at: '2027-06-01T18:30:00.000Z' }] },
);
export type WaitlistPlaceOut = Static<typeof WaitlistPlaceOut>;
