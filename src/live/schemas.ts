import { Type, type Static } from 'typebox';

export const SeatsSnapshot = Type.Object(
  {
    tickets_available: Type.Integer({ description: 'Seats still for sale: total − sold − held by pending orders' }),
    tickets_sold: Type.Integer(),
    total_tickets: Type.Integer(),
  },
  { examples: [{ tickets_available: 488, tickets_sold: 12, total_tickets: 500 }] },
);
export type SeatsSnapshot = Static<typeof SeatsSnapshot>;
