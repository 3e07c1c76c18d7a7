// Prices are decimal strings from the API ("50.00"); shown in the event's currency with the reader's
// conventions ("€50.00", "CHF 50.00"). Never summed here: totals come from the server.

const formats = new Map<string, Intl.NumberFormat>();

export function money(amount: string, currency: string | undefined): string {
  const code = currency ?? 'EUR';
  let format = formats.get(code);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: 'currency', currency: code });
    } catch {
      return `${amount} ${code}`;
    }
    formats.set(code, format);
  }
  // Intl formats from a decimal string exactly (no float round trip) where the browser supports it.
  return format.format(amount as unknown as number);
}
