// CSV as RFC 4180 has it (CRLF line ends, fields with quotes, commas or line breaks quoted, quotes doubled),
// made safe to open in a spreadsheet: a text cell starting with = + - @ (or a tab or carriage return)
// would run as a formula there, so it gets a leading ' and is shown as the text it is (OWASP CSV injection).

export type CsvCell = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: CsvCell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',') + '\r\n').join('');
}

/** True when the Accept header ranks text/csv at least as high as JSON. */
export function prefersCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csv = 0;
  let json = 0;
  for (const range of accept.toLowerCase().split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim());
    const q = Number(params.find((param) => param.startsWith('q='))?.slice(2) ?? '1');
    if (!(q >= 0 && q <= 1)) continue;
    if (type === 'text/csv') csv = Math.max(csv, q);
    else if (type === 'application/json') json = Math.max(json, q);
  }
  return csv > 0 && csv >= json;
}
