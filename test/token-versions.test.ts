import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVersions } from '../src/http/token-versions.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { registerAndLogin, type TestUser } from './helpers/factories.js';

// The token-version store on its own, two of them standing for two processes on one real database.

const TTL_MS = 300;
let t: TestApp;
let buyer: TestUser;
const stores: TokenVersions[] = [];
const store = () => {
  const made = new TokenVersions(t.testDb.database.db, TTL_MS);
  stores.push(made);
  return made;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  t = await buildTestApp();
  buyer = await registerAndLogin(t.app);
});
afterAll(async () => {
  for (const made of stores) made.stop();
  await t.close();
});

describe('when a user’s token version was read more than TOKEN_VERSION_CACHE_MS ago', () => {
  it('then it is not read again while the revocation feed runs, and a bump elsewhere is seen within that time', async () => {
    const here = store();
    const elsewhere = store();
    await sleep(50); // the first poll marks where the feed starts watching
    expect(await here.current(buyer.id)).toBe(0);
    // A change the feed does not report (no token_revoked_at): a store that read rows again would see it.
    await t.testDb.database.db.execute(sql`UPDATE users SET token_version = 7 WHERE id = ${buyer.id}`);
    await sleep(TTL_MS * 2);
    expect(await here.current(buyer.id)).toBe(0);
    // A logout on another process: reported by the feed, seen here within TTL_MS.
    expect(await elsewhere.bump(buyer.id)).toBe(8);
    const since = Date.now();
    while ((await here.current(buyer.id)) !== 8) {
      expect(Date.now() - since).toBeLessThan(TTL_MS + 200);
      await sleep(10);
    }
  });

  it('then with TOKEN_VERSION_CACHE_MS=0 (no cache, no feed) every check reads the row', async () => {
    const blind = new TokenVersions(t.testDb.database.db, 0);
    expect(await blind.current(buyer.id)).toBe(8);
    await t.testDb.database.db.execute(sql`UPDATE users SET token_version = 9 WHERE id = ${buyer.id}`);
    expect(await blind.current(buyer.id)).toBe(9);
  });
});
