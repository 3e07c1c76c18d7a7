import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { hasChromium, openBrowser, screenshot, type Browser } from './browser.js';

describe.skipIf(!hasChromium)('the API documentation in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([buildTestApp(), openBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('when /docs is opened, then Swagger UI renders the BookFast API with its routes', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/docs`);
    const title = page.locator('.information-container .title');
    await expect.poll(() => title.textContent(), { timeout: 15_000 }).toContain('BookFast API');
    await expect.poll(() => page.locator('.opblock-summary-path', { hasText: '/book' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await screenshot(page, 'docs');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
