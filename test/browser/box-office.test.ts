import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, type EventBody, type TestUser } from '../helpers/factories.js';
import { hasChromium, openBrowser, screenshot, type Browser } from './browser.js';
import { answerDialog, card, expectStatus, registerThroughPage, UI } from './pages.js';

// The buyer's side of the web box office in headless Chromium against the real server on a real port.
// web/dist was built by test/global-setup.ts.

describe.skipIf(!hasChromium)('the web box office: buying', () => {
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

  const open = async (hash = '/') => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/#${hash}`);
    return page;
  };
  const stored = async (id: number) => (await t.app.inject({ url: `/events/${id}` })).json<EventBody>();
  const tokenOf = (page: Page) => page.evaluate(() => sessionStorage.getItem('bookfast.token')!);

  it('when a fan registers (and is signed in by it), books with one click, sees the ticket’s QR code and cancels after confirming, then seats follow', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Rust & Roll', total_tickets: 5, ticket_price: '50.00', currency: 'EUR' });
    const page = await open();
    const show = card(page, 'Rust & Roll');
    await expect.poll(() => show.locator('.seats').textContent(), UI).toBe('5 seats left of 5');
    expect(await show.locator('.price').textContent()).toBe('€50.00');
    // Signed out, the button leads to the login form instead of booking.
    await show.getByRole('button', { name: 'Log in to book Rust & Roll' }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), UI).toBe('login-email');

    await registerThroughPage(page);
    await show.getByRole('button', { name: 'Book Rust & Roll' }).click();
    await expectStatus(page, /^Booked! Ticket #\d+ for Rust & Roll\.$/);
    await expect.poll(() => show.locator('.seats').textContent(), UI).toBe('4 seats left of 5');

    await page.getByRole('link', { name: 'My tickets', exact: true }).click();
    const ticket = page.locator('#tickets li').first();
    await expect.poll(() => ticket.innerText(), UI).toContain('Rust & Roll');
    expect(await ticket.locator('.ticket-status').textContent()).toBe('Booked');
    // The QR code comes from GET /tickets/{id}/qr.svg (with the token), shown as an image.
    await expect.poll(() => ticket.locator('img.qr').getAttribute('src'), UI).toMatch(/^data:image\/svg\+xml/);
    expect(await ticket.locator('img.qr').evaluate((img: HTMLImageElement) => img.naturalWidth > 0)).toBe(true);
    await screenshot(page, 'box-office-tickets');

    const cancel = ticket.getByRole('button', { name: /^Cancel ticket #\d+ for Rust & Roll$/ });
    // First thoughts: keep it. Nothing is cancelled.
    await cancel.click();
    await answerDialog(page, 'Keep it');
    expect((await stored(event.id)).tickets_sold).toBe(1);
    await cancel.click();
    await answerDialog(page, 'Cancel the ticket');
    await expectStatus(page, /cancelled; the seat is back on sale/);
    await expect.poll(() => page.locator('#tickets li').first().locator('.ticket-status').textContent(), UI).toBe('Cancelled');
    expect((await stored(event.id)).tickets_sold).toBe(0);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when a buyer holds 3 seats, then the countdown runs to expires_at, and confirm books them; a second hold is released after confirming', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Hold Night', total_tickets: 10, max_per_order: 4, hold_minutes: 10, ticket_price: '20.00' });
    const page = await open(`/events/${event.id}`);
    await registerThroughPage(page);
    const quantity = page.getByLabel('How many seats');
    await expect.poll(() => quantity.locator('option').count(), UI).toBe(4);
    await quantity.selectOption('3');
    await page.getByRole('button', { name: 'Hold seats' }).click();
    const hold = page.locator('.hold').first();
    await expect.poll(() => hold.locator('h3').textContent(), UI).toBe('3 seats held: Hold Night');
    const clock = hold.getByRole('timer');
    await expect.poll(() => clock.textContent(), UI).toMatch(/^(9:5\d|10:00)$/);
    const first = await clock.textContent();
    await expect.poll(() => clock.textContent(), UI).not.toBe(first);
    expect(await stored(event.id)).toMatchObject({ tickets_sold: 0, tickets_available: 7 });
    await screenshot(page, 'box-office-hold');

    await hold.getByRole('button', { name: 'Confirm 3 seats for Hold Night' }).click();
    await expectStatus(page, 'Confirmed! 3 tickets for Hold Night.');
    expect(await stored(event.id)).toMatchObject({ tickets_sold: 3, tickets_available: 7 });

    await quantity.selectOption('2');
    await page.getByRole('button', { name: 'Hold seats' }).click();
    await page.getByRole('button', { name: 'Release the hold on Hold Night' }).click();
    await answerDialog(page, 'Release the seats');
    await expectStatus(page, 'Released the hold on Hold Night; the seats are back on sale.');
    expect(await stored(event.id)).toMatchObject({ tickets_sold: 3, tickets_available: 7 });
    await expect.poll(() => page.locator('.hold').count(), UI).toBe(0);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the answer to a purchase is lost on the way and the buyer presses again, then one order is bought (same Idempotency-Key); the next purchase gets a new key', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Flaky Wifi', total_tickets: 10 });
    const page = await open(`/events/${event.id}`);
    await registerThroughPage(page);
    const keys: string[] = [];
    let lose = true;
    await page.route('**/orders', async (route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The server books it; the browser never hears back.
      const answer = await route.fetch();
      if (lose) {
        lose = false;
        return route.abort('connectionreset');
      }
      return route.fulfill({ response: answer });
    });
    await page.getByLabel('How many seats').selectOption('2');
    await page.getByRole('button', { name: 'Buy now' }).click();
    await expectStatus(page, 'Press the button again: it retries this same purchase, never a second one.');
    await page.getByRole('button', { name: 'Buy now' }).click();
    await expectStatus(page, 'Bought 2 tickets for Flaky Wifi.');
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const token = await tokenOf(page);
    const orders = (await t.app.inject({ url: '/orders', headers: { authorization: `Bearer ${token}` } })).json<unknown[]>();
    expect(orders).toHaveLength(1);
    expect((await stored(event.id)).tickets_sold).toBe(2);

    // The message still says "Bought 2 tickets" from the first purchase: wait for the seats instead.
    await page.getByRole('button', { name: 'Buy now' }).click();
    await expect.poll(() => stored(event.id).then((e) => e.tickets_sold), UI).toBe(4);
    expect(keys).toHaveLength(3);
    expect(keys[2]).not.toBe(keys[0]);
    // A double click is one purchase: the button is disabled from the first click until the answer.
    await expect.poll(() => page.getByRole('button', { name: 'Buy now' }).isEnabled(), UI).toBe(true);
    await page.getByRole('button', { name: 'Buy now' }).dblclick();
    await expect.poll(() => stored(event.id).then((e) => e.tickets_sold), UI).toBe(6);
    await expect.poll(() => page.getByRole('button', { name: 'Buy now' }).isEnabled(), UI).toBe(true);
    expect(keys).toHaveLength(4);
    expect((await stored(event.id)).tickets_sold).toBe(6);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when an event is sold out, then the buyer joins the waiting list, sees their place, and confirms the hold offered when a seat comes back', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Tiny Club', total_tickets: 1 });
    const rival = await registerAndLogin(t.app);
    const booked = await bookOverHttp(t.baseUrl, rival.token, event.id);
    const page = await open(`/events/${event.id}`);
    await registerThroughPage(page);
    await expect.poll(() => page.locator('#seats').textContent(), UI).toBe('Sold out');
    await page.getByRole('button', { name: 'Join the waiting list' }).click();
    await expect.poll(() => page.locator('#place').textContent(), UI).toBe('You are next in line.');
    await screenshot(page, 'box-office-waitlist');

    // The rival cancels: the seat goes to the first in line as a hold, which this page shows at its next poll.
    await t.app.inject({ method: 'POST', url: `/tickets/${booked.body.id as number}/cancel`, headers: rival.auth });
    const hold = page.locator('.hold').first();
    await expect.poll(() => hold.locator('h3').textContent(), UI).toBe('1 seat held: Tiny Club');
    await expect.poll(() => page.locator('#place').count(), UI).toBe(0);
    await hold.getByRole('button', { name: 'Confirm 1 seat for Tiny Club' }).click();
    await expectStatus(page, 'Confirmed! 1 ticket for Tiny Club.');
    expect((await stored(event.id)).tickets_sold).toBe(1);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the last seat goes elsewhere, then the list says "Sold out", its button is disabled and it offers the waiting list', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Popular', total_tickets: 1 });
    const page = await open();
    const popular = card(page, 'Popular');
    await expect.poll(() => popular.locator('.seats').textContent(), UI).toBe('1 seat left of 1');
    const rival = await registerAndLogin(t.app);
    expect((await bookOverHttp(t.baseUrl, rival.token, event.id)).status).toBe(200);
    await expect.poll(() => popular.locator('.seats').textContent(), UI).toBe('Sold out');
    expect(await popular.getByRole('button', { name: 'Sold out: Popular' }).isDisabled()).toBe(true);
    expect(await popular.getByRole('link', { name: 'Join the waiting list: Popular' }).getAttribute('href')).toBe(`#/events/${event.id}`);
    await screenshot(page, 'box-office-sold-out');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
