// When a failed delivery is tried again: about 5 s, 30 s, 2 min, 10 min, 1 h, then 3, 6, 12 and 24 h
// between tries, each ±20% at random so that many endpoints failing at once do not retry in step.
const DELAYS_SECONDS = [5, 30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];

/** The delay before try number `attempts + 1`, given that `attempts` tries have failed (attempts >= 1). */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const base = DELAYS_SECONDS[Math.min(attempts, DELAYS_SECONDS.length) - 1]! * 1000;
  return Math.round(base * (0.8 + 0.4 * random()));
}
