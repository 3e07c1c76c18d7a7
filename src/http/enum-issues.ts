import type { FastifyError } from 'fastify';

type AjvIssue = NonNullable<FastifyError['validation']>[number];

/**
 * A 422 on a closed list of values names the values. Ajv reports `enum` with its list, but a union of
 * literals as one "must be equal to constant" per literal and then "must match a schema in anyOf": those
 * are folded into one `enum` issue that lists them.
 */
export function namingAllowedValues(issues: readonly AjvIssue[]): AjvIssue[] {
  const out: AjvIssue[] = [];
  let consts: AjvIssue[] = [];
  const flush = () => {
    for (const issue of consts) out.push({ ...issue, message: allowed([(issue.params as { allowedValue?: unknown }).allowedValue]) });
    consts = [];
  };
  for (const issue of issues) {
    const params = issue.params as Record<string, unknown>;
    if (issue.keyword === 'const' && (consts.length === 0 || consts[0]!.instancePath === issue.instancePath)) {
      consts.push(issue);
    } else if (issue.keyword === 'anyOf' && consts.length > 0 && consts[0]!.instancePath === issue.instancePath) {
      const values = consts.map((literal) => (literal.params as { allowedValue?: unknown }).allowedValue);
      out.push({ ...issue, keyword: 'enum', params: { allowedValues: values }, message: allowed(values) });
      consts = [];
    } else {
      flush();
      if (issue.keyword === 'const') consts.push(issue);
      else if (issue.keyword === 'enum' && Array.isArray(params.allowedValues)) out.push({ ...issue, message: allowed(params.allowedValues) });
      else out.push(issue);
    }
  }
  flush();
  return out;
}

function allowed(values: readonly unknown[]): string {
  return `must be one of: ${values.map((value) => JSON.stringify(value)).join(', ')}`;
}
