import pg from 'pg';

/**
 * Behind PgBouncer in transaction mode the timeouts cannot travel per connection, so they must be the role's
 * defaults. With a direct URL BookFast sets them itself, for this role in this database only, and only those
 * still off (0): a value an operator chose stays. Returns the names it set.
 */
export async function setRoleTimeoutsWhereOff(directUrl: string, timeoutsMs: Record<string, number>): Promise<string[]> {
  // No startup parameters: the session must show the role's and database's defaults, not ours.
  const client = new pg.Client({ connectionString: directUrl, application_name: 'bookfast-migrate' });
  await client.connect();
  try {
    const names = Object.keys(timeoutsMs);
    const { rows } = await client.query<{ name: string; setting: string; database: string }>(
      'SELECT name, setting, current_database() AS database FROM pg_settings WHERE name = ANY($1::text[])',
      [names],
    );
    const off = rows.filter((row) => row.setting === '0').map((row) => row.name);
    const database = client.escapeIdentifier(rows[0]?.database ?? '');
    try {
      // ALTER ROLE takes no parameters; the names come from pg_settings and the values are our integers.
      for (const name of off) await client.query(`ALTER ROLE CURRENT_USER IN DATABASE ${database} SET ${name} = '${Math.trunc(timeoutsMs[name]!)}ms'`);
    } catch (error) {
      // Not allowed to (42501): the start-up check then names what an administrator must run.
      if ((error as { code?: string }).code === '42501') return [];
      throw error;
    }
    return off;
  } finally {
    await client.end();
  }
}
