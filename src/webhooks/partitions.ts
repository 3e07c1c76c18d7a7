// What the ordering guarantee covers: changes to one resource (an event, a ticket, an order) arrive in the
// order they happened; webhooks of different resources may overtake each other. So one endpoint's queue is
// split by resource key, as a partitioned log is: each key's webhooks go one after another, and different
// keys go at once, a bounded number at a time.

/**
 * The resource a webhook is about, from its type and data: `ticket.*` a ticket, `order.*` and
 * `waitlist.offered` (a hold) an order, `event.*` an event. Pings keep their own order among themselves.
 */
export function resourceKeyOf(webhook: { type: string; data: unknown }): string {
  const kind = webhook.type.slice(0, webhook.type.indexOf('.'));
  const id = (webhook.data as { id?: unknown } | null)?.id;
  if (kind === 'ticket' || kind === 'order' || kind === 'event') return `${kind}:${String(id)}`;
  if (kind === 'waitlist') return `order:${String(id)}`;
  return webhook.type;
}

/**
 * Calls `deliver` on each webhook: those of one key in the given (outbox) order, each after the previous
 * one settled, and those of different keys concurrently, at most `limit` at once. A key stops at the first
 * webhook `deliver` answers false for (it failed, or is not due): the key's later ones wait behind it.
 */
export async function deliverPerKey<T extends { type: string; data: unknown }>(
  webhooks: T[],
  limit: number,
  deliver: (webhook: T) => Promise<boolean>,
): Promise<void> {
  const byKey = new Map<string, T[]>();
  for (const webhook of webhooks) {
    const key = resourceKeyOf(webhook);
    const chain = byKey.get(key);
    if (chain) chain.push(webhook);
    else byKey.set(key, [webhook]);
  }
  // Keys start in the order of their oldest webhook.
  const chains = [...byKey.values()];
  let next = 0;
  const lane = async () => {
    while (next < chains.length) {
      const chain = chains[next++]!;
      for (const webhook of chain) if (!(await deliver(webhook))) break;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, chains.length) }, lane));
}
