import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderStatements } from '../scripts/statements.js';

// The committed .sql files are the statements the code sends: a change to one shows in review as SQL.

describe('the rendered hot statements', () => {
  it('when the statements are rendered from the code, then each committed .sql file holds exactly that', async () => {
    const rendered = await renderStatements();
    const stale = [...rendered].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file);
    expect(stale, 'run `npm run statements` and commit the .sql files').toEqual([]);
  });

  it('when a statements/ folder is listed, then it holds no file the code no longer renders', async () => {
    const rendered = new Set((await renderStatements()).keys());
    const folders = [...new Set([...rendered].map((file) => file.slice(0, file.lastIndexOf('/'))))];
    const committed = folders.flatMap((folder) => readdirSync(folder).map((name) => join(folder, name)));
    expect(committed.filter((file) => !rendered.has(file))).toEqual([]);
  });

  it('when a statement is rendered, then its parameters are placeholders, never the values passed in', async () => {
    const text = (await renderStatements()).get('src/inventory/statements/cancel-ticket.sql')!;
    expect(text).toMatch(/t\.id = \$1 AND t\.user_id = \$2/);
  });
});
