import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, describe, expect, it } from 'vitest';

// A database made by the previous release, with rows in it, migrated to this one: new columns are filled from
// what the rows already say. Plain SQL, so the embedded database stands for PostgreSQL here.

const client = new PGlite();
afterAll(() => client.close());

/** The migrations folder as it was before `tag`: the journal cut just before that entry. */
function migrationsBefore(tag: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'bookfast-migrations-'));
  cpSync('drizzle', folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((entry) => entry.tag === tag);
  expect(cut).toBeGreaterThan(0);
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));
  return folder;
}

describe('when a database of the previous release is migrated', () => {
  it('then each ticket gets the price it was sold at (its order’s, else the event’s) and each event the size of its line', async () => {
    const db = drizzle(client);
    await migrate(db, { migrationsFolder: migrationsBefore('0008_seat_price_and_line') });
    await client.exec(`
      INSERT INTO users (id, email, password) VALUES (1, 'a@example.com', 'x'), (2, 'b@example.com', 'x'), (3, 'c@example.com', 'x');
      INSERT INTO events (id, event_name, date, ticket_price, total_tickets, tickets_sold) VALUES
        (1, 'Sold out', now(), 30.00, 3, 3), (2, 'Open', now(), 12.50, 10, 1);
      INSERT INTO orders (id, event_id, user_id, status, quantity, total_price) VALUES (1, 1, 1, 'confirmed', 2, 50.00);
      INSERT INTO tickets (id, event_id, user_id, status, order_id) VALUES (1, 1, 1, 'booked', 1), (2, 1, 1, 'booked', 1), (3, 1, 2, 'booked', NULL), (4, 2, 3, 'booked', NULL);
      INSERT INTO waitlist (event_id, user_id) VALUES (1, 2), (1, 3);
    `);

    await migrate(db, { migrationsFolder: 'drizzle' });

    const tickets = await client.query<{ id: number; price: string }>('SELECT id, price::text FROM tickets ORDER BY id');
    // The order was sold at 25.00 a seat before the price became 30.00; the lone ticket only knows the event's.
    expect(tickets.rows).toEqual([
      { id: 1, price: '25.00' },
      { id: 2, price: '25.00' },
      { id: 3, price: '30.00' },
      { id: 4, price: '12.50' },
    ]);
    const events = await client.query<{ id: number; waiting: number }>('SELECT id, waiting FROM events ORDER BY id');
    expect(events.rows).toEqual([
      { id: 1, waiting: 2 },
      { id: 2, waiting: 0 },
    ]);
    await expect(client.query('INSERT INTO tickets (event_id, user_id) VALUES (2, 1)')).rejects.toThrow(/price/);
    // Two migration runs on a fresh embedded database: slow when the machine is busy.
  }, 180_000);
});
