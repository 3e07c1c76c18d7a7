/** How many times each HTTP status occurs, e.g. `{ 200: 50, 400: 350 }`: what race tests assert on. */
export function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
