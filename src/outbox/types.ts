// The webhook event types of the contract (issue 17), and `ping`, which only POST /webhooks/{id}/test sends.
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'order.expired',
  'ticket.booked',
  'ticket.cancelled',
  'ticket.checked_in',
  'waitlist.offered',
  'event.sold_out',
  'event.updated',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** What an endpoint may list: `ping` too, as docs/api/webhooks.md's table shows it, though the test sends it regardless. */
export const DELIVERED_TYPES = [...WEBHOOK_EVENT_TYPES, 'ping'] as const;
export type DeliveredType = (typeof DELIVERED_TYPES)[number];
