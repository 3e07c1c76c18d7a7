// ISO 4217 codes as the runtime's ICU knows them (Intl.supportedValuesOf): no hand-kept list to go stale.
// A leaf module: config.ts checks CURRENCY with it, the event rules check each event's currency.

const KNOWN = new Set(Intl.supportedValuesOf('currency'));

/** The code in upper case when it is a known ISO 4217 currency, else undefined. */
export function currencyCode(text: string): string | undefined {
  const code = text.trim().toUpperCase();
  return /^[A-Z]{3}$/.test(code) && KNOWN.has(code) ? code : undefined;
}
