import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from '../helpers/factories.js';
import { hasChromium, openBrowser, type Browser } from './browser.js';
import { UI } from './pages.js';

// "My tickets" shows what is true: no Cancel that the API would refuse, an order with a cancelled ticket
// not shown as whole, and times with their zone. web/dist was built by test/global-setup.ts.

describe.skipIf(!hasChromium)('the web box office: my tickets as they are', () => {
  let t: TestApp;
  let browser: Browser;
  let organizer: TestUser;

  beforeAll(async () => {
    [t, browser] = await Promise.all([buildTestApp(), openBrowser()]);
    organizer = await registerAndLogin(t.app);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** The tickets page, signed in as `user` (the session the login form would have stored). */
  const ticketsPageOf = async (user: TestUser) => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/#/`);
    await page.evaluate(({ token, email }) => {
      sessionStorage.setItem('bookfast.token', token);
      sessionStorage.setItem('bookfast.email', email);
    }, user);
    await page.goto(`${t.baseUrl}/app/#/tickets`);
    await page.reload();
    return page;
  };

  it('when a ticket was checked in, then it offers no Cancel; a ticket not yet used still does', async () => {
    // Arrange: two tickets, one scanned at the door.
    const fan = await registerAndLogin(t.app);
    const event = await createEvent(t.app, organizer, { event_name: 'Door Night', total_tickets: 5 });
    const book = () => t.app.inject({ method: 'POST', url: '/book', headers: fan.auth, payload: { event_id: event.id } });
    const used = (await book()).json<{ id: number; code: string }>();
    const unused = (await book()).json<{ id: number }>();
    const scan = await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: organizer.auth, payload: { code: used.code } });
    expect(scan.statusCode, scan.body).toBe(200);
    // Act
    const page = await ticketsPageOf(fan);
    const item = (id: number) => page.locator(`#tickets li[data-ticket-id="${id}"]`);
    await expect.poll(() => item(used.id).locator('.ticket-status').textContent(), UI).toMatch(/^Admitted at /);
    // Assert
    expect(await item(used.id).getByRole('button', { name: /^Cancel/ }).count()).toBe(0);
    expect(await item(unused.id).getByRole('button', { name: /^Cancel ticket/ }).count()).toBe(1);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when one ticket of a confirmed order was cancelled, then the order says so instead of "Confirmed"', async () => {
    const fan = await registerAndLogin(t.app);
    const event = await createEvent(t.app, organizer, { event_name: 'Half Night', total_tickets: 5 });
    const order = await t.app.inject({ method: 'POST', url: '/orders', headers: fan.auth, payload: { event_id: event.id, quantity: 3 } });
    expect(order.statusCode, order.body).toBe(200);
    const { id, tickets } = order.json<{ id: number; tickets: { id: number }[] }>();
    expect((await t.app.inject({ method: 'POST', url: `/tickets/${tickets[0]!.id}/cancel`, headers: fan.auth })).statusCode).toBe(200);

    const page = await ticketsPageOf(fan);
    const status = page.locator(`#orders li[data-order-id="${id}"] .ticket-status`);
    await expect.poll(() => status.textContent(), UI).toBe('Partly cancelled (1 of 3 seats)');
    await page.close();
  });

  it('when an event time is shown, then it carries its time zone', async () => {
    const fan = await registerAndLogin(t.app);
    const event = await createEvent(t.app, organizer, { event_name: 'Zone Night', total_tickets: 5, date: '2031-06-01T19:30:00Z' });
    await t.app.inject({ method: 'POST', url: '/book', headers: fan.auth, payload: { event_id: event.id } });
    const page = await ticketsPageOf(fan);
    // The browser runs in UTC (test/browser/browser.ts).
    await expect.poll(() => page.locator('#tickets li time').first().textContent(), UI).toMatch(/7:30\s?PM UTC$/);
    await page.close();
  });
});
