import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVersions } from '../src/auth/token-versions.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { registerAndLogin, type TestUser } from './helpers/factories.js';

// The token-version store on its own: stores standing for processes on other hosts, on one real database.
// A token issued more than `overlapMs` after a store's feed started is judged from the feed alone.

const TTL_MS = 300;
const OVERLAP_MS = 200;
let t: TestApp;
const stores: TokenVersions[] = [];
const store = (ttlMs = TTL_MS) => {
  const made = new TokenVersions(t.testDb.database.db, { ttlMs, tokenLifetimeMs: 60_000, overlapMs: OVERLAP_MS });
  stores.push(made);
  return made;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Date.now() / 1000;
const execute = (query: ReturnType<typeof sql>) => t.testDb.database.db.execute(query);

/** Waits (at most TTL_MS and a little) until `check` holds. */
async function within(check: () => Promise<boolean>): Promise<void> {
  const since = Date.now();
  while (!(await check())) {
    expect(Date.now() - since).toBeLessThan(TTL_MS + 250);
    await sleep(10);
  }
}

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  for (const made of stores) made.stop();
  await t.close();
});

describe('when a token is older than the store’s feed (issued before the process started)', () => {
  let buyer: TestUser;
  beforeAll(async () => {
    buyer = await registerAndLogin(t.app);
  });

  it('then its user’s row is read once and kept current by the feed, and a bump elsewhere is seen within TTL', async () => {
    const issuedAt = nowSeconds() - 60;
    const here = store();
    const elsewhere = store();
    await sleep(50); // the first poll marks where the feed starts watching
    expect(await here.isCurrent(buyer.id, 0, issuedAt)).toBe(true);
    // A change the feed does not report (no token_revoked_at): a store that read the row again would see it.
    await execute(sql`UPDATE users SET token_version = 7 WHERE id = ${buyer.id}`);
    await sleep(TTL_MS * 2);
    expect(await here.isCurrent(buyer.id, 0, issuedAt)).toBe(true);
    // A logout on another host: reported by the feed.
    expect(await elsewhere.bump(buyer.id)).toBe(8);
    await within(async () => !(await here.isCurrent(buyer.id, 0, issuedAt)));
    expect(await here.isCurrent(buyer.id, 8, issuedAt)).toBe(true);
  });

  it('then with TOKEN_VERSION_CACHE_MS=0 (no cache, no feed) every check reads the row', async () => {
    const blind = store(0);
    expect(await blind.current(buyer.id)).toBe(8);
    await execute(sql`UPDATE users SET token_version = 9 WHERE id = ${buyer.id}`);
    expect(await blind.current(buyer.id)).toBe(9);
  });
});

describe('when a token was issued after the store’s feed started', () => {
  it('then it is judged without reading its user, refused within TTL after a bump elsewhere, and the new version passes', async () => {
    const buyer = await registerAndLogin(t.app);
    const here = store();
    const elsewhere = store();
    await sleep(OVERLAP_MS + 50);
    const issuedAt = nowSeconds();
    // The row says 5 without the feed knowing: a store that read it would refuse version 0.
    await execute(sql`UPDATE users SET token_version = 5 WHERE id = ${buyer.id}`);
    expect(await here.isCurrent(buyer.id, 0, issuedAt)).toBe(true);
    expect(await elsewhere.bump(buyer.id)).toBe(6);
    await within(async () => !(await here.isCurrent(buyer.id, 0, issuedAt)));
    expect(await here.isCurrent(buyer.id, 6, nowSeconds())).toBe(true);
  });

  it('then an account deleted in SQL has its tokens refused within TTL, on either path', async () => {
    const buyer = await registerAndLogin(t.app);
    const here = store();
    await sleep(OVERLAP_MS + 50);
    const fresh = nowSeconds();
    const old = fresh - 60;
    expect(await here.isCurrent(buyer.id, 0, fresh)).toBe(true);
    expect(await here.isCurrent(buyer.id, 0, old)).toBe(true);
    await execute(sql`DELETE FROM users WHERE id = ${buyer.id}`);
    await within(async () => !(await here.isCurrent(buyer.id, 0, fresh)) && !(await here.isCurrent(buyer.id, 0, old)));
  });
});
