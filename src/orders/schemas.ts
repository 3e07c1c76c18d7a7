import { Type, type Static } from 'typebox';
import { Id } from '../shapes/common.js';

export const OrderCreate = Type.Object(
  {
    event_id: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 100, description: 'Seats, all or nothing; at most the event’s max_per_order', examples: [2] }),
    hold: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: reserve the seats for the event’s hold_minutes (status pending) until POST /orders/{id}/confirm',
      }),
    ),
  },
  { examples: [{ event_id: 1, quantity: 2, hold: true }] },
);
export type OrderCreate = Static<typeof OrderCreate>;

