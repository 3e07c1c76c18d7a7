import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, uniqueEmail, type TestUser } from '../helpers/factories.js';
import { hasChromium, openBrowser, screenshot, type Browser } from './browser.js';

// The web box office in headless Chromium against the real server on a real port. web/dist was built by
// test/global-setup.ts.
const PASSWORD = 'correct horse battery';
const UI = { timeout: 10_000 };

describe.skipIf(!hasChromium)('the web box office in a browser', () => {
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

  const open = async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/`);
    return page;
  };
  const status = (page: Page) => page.locator('#status');
  const card = (page: Page, name: string) => page.locator('li.card', { has: page.getByRole('heading', { name, exact: true }) });

  async function registerAndLogInThroughThePage(page: Page, email = uniqueEmail('fan')): Promise<string> {
    const register = page.locator('#register-form');
    await register.getByLabel('Email').fill(email);
    await register.getByLabel('Password').fill(PASSWORD);
    await register.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => status(page).textContent(), UI).toContain(`Account created for ${email}`);

    const login = page.locator('#login-form');
    expect(await login.getByLabel('Email').inputValue()).toBe(email);
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('#whoami').textContent(), UI).toBe(`Signed in as ${email}`);
    return email;
  }

  it('when a fan registers, logs in, books, sees the ticket and cancels it, then seats follow every step', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Rust & Roll', total_tickets: 5, ticket_price: '50.00' });
    const page = await open();
    const show = card(page, 'Rust & Roll');
    await expect.poll(() => show.locator('.seats').textContent(), UI).toBe('5 seats left of 5');
    // Signed out, the button leads to the login form instead of booking.
    await show.getByRole('button', { name: 'Log in to book Rust & Roll' }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), UI).toBe('login-email');

    await registerAndLogInThroughThePage(page);
    await show.getByRole('button', { name: 'Book Rust & Roll' }).click();
    await expect.poll(() => status(page).textContent(), UI).toMatch(/^Booked! Ticket #\d+ for Rust & Roll\.$/);
    await expect.poll(() => show.locator('.seats').textContent(), UI).toBe('4 seats left of 5');

    const ticket = page.locator('#tickets li').first();
    await expect.poll(() => ticket.innerText(), UI).toContain('Rust & Roll');
    expect(await ticket.locator('.ticket-status').textContent()).toBe('Booked');
    await screenshot(page, 'box-office-booked');

    await ticket.getByRole('button', { name: /^Cancel ticket #\d+ for Rust & Roll$/ }).click();
    await expect.poll(() => status(page).textContent(), UI).toMatch(/cancelled; the seat is back on sale/);
    await expect.poll(() => page.locator('#tickets li').first().locator('.ticket-status').textContent(), UI).toBe('Cancelled');
    await expect.poll(() => show.locator('.seats').textContent(), UI).toBe('5 seats left of 5');
    const stored = (await t.app.inject({ url: `/events/${event.id}` })).json<{ tickets_sold: number }>();
    expect(stored.tickets_sold).toBe(0);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the last seat goes, in this page or elsewhere, then the event says "Sold out" and its button is disabled', async () => {
    await createEvent(t.app, organizer, { event_name: 'Last Seat', total_tickets: 1 });
    const elsewhere = await createEvent(t.app, organizer, { event_name: 'Popular', total_tickets: 1 });
    const page = await open();
    await registerAndLogInThroughThePage(page);

    const last = card(page, 'Last Seat');
    await last.getByRole('button', { name: 'Book Last Seat' }).click();
    await expect.poll(() => last.locator('.seats').textContent(), UI).toBe('Sold out');
    const soldOut = last.getByRole('button', { name: 'Sold out: Last Seat' });
    expect(await soldOut.textContent()).toBe('Sold out');
    expect(await soldOut.isDisabled()).toBe(true);

    // Someone else takes the other event's only seat: the page sees it at its next poll.
    const popular = card(page, 'Popular');
    await expect.poll(() => popular.locator('.seats').textContent(), UI).toBe('1 seat left of 1');
    const rival = await registerAndLogin(t.app);
    expect((await bookOverHttp(t.baseUrl, rival.token, elsewhere.id)).status).toBe(200);
    await expect.poll(() => popular.locator('.seats').textContent(), UI).toBe('Sold out');
    expect(await popular.getByRole('button', { name: 'Sold out: Popular' }).isDisabled()).toBe(true);
    await screenshot(page, 'box-office-sold-out');
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when an organizer creates an event, then its sales are followed as tickets sell', async () => {
    const page = await open();
    await registerAndLogInThroughThePage(page, uniqueEmail('organizer'));
    const form = page.locator('#create-form');
    await form.getByLabel('Name').fill('Organizer Night');
    await form.getByLabel('Date and time').fill('2031-05-01T20:00');
    await form.getByLabel('Ticket price').fill('25.00');
    await form.getByLabel('Tickets for sale').fill('10');
    await form.getByRole('button', { name: 'Create event' }).click();
    await expect.poll(() => status(page).textContent(), UI).toBe('Event "Organizer Night" created with 10 tickets for sale.');

    const sale = page.locator('#sales li').first();
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('0 tickets sold of 10 · 10 left');
    const eventId = Number(await sale.getAttribute('data-event-id'));
    const buyers = await Promise.all([1, 2, 3].map(() => registerAndLogin(t.app)));
    for (const buyer of buyers) expect((await bookOverHttp(t.baseUrl, buyer.token, eventId)).status).toBe(200);
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('3 tickets sold of 10 · 7 left');
    // Followed through GET /events/{id}/live (Server-Sent Events), not by polling.
    expect(await sale.locator('.hint').textContent()).toBe('Live');
    expect(await sale.locator('progress').evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([3, 10]);
    // The event also shows up for sale in the list.
    await expect.poll(() => card(page, 'Organizer Night').locator('.seats').textContent(), UI).toBe('7 seats left of 10');
    await screenshot(page, 'box-office-organizer');
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the server has neither GET /tickets nor live streams (older versions), then the page falls back and still works', async () => {
    const page = await browser.newPage();
    await page.route(/\/tickets\?/, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"detail":"Not Found"}' }));
    await page.route(/\/events\/\d+\/live$/, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"detail":"Not Found"}' }));
    await page.goto(`${t.baseUrl}/app/`);
    await registerAndLogInThroughThePage(page);

    await page.locator('#event-name').fill('Polled Night');
    await page.locator('#event-date').fill('2031-06-01T20:00');
    await page.locator('#event-price').fill('10');
    await page.locator('#event-total').fill('4');
    await page.getByRole('button', { name: 'Create event' }).click();
    const sale = page.locator('#sales li').first();
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('0 tickets sold of 4 · 4 left');

    await card(page, 'Polled Night').getByRole('button', { name: 'Book Polled Night' }).click();
    const ticket = page.locator('#tickets li').first();
    await expect.poll(() => ticket.innerText(), UI).toContain('Polled Night');
    expect(await page.locator('#tickets-note').textContent()).toMatch(/booked in this browser tab/);
    // No stream: the sales figures come from polling.
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('1 ticket sold of 4 · 3 left');
    expect(await sale.locator('.hint').textContent()).toBe('Updated every few seconds');
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the screen is a phone’s (375 px), then nothing scrolls sideways and every field has a label', async () => {
    await createEvent(t.app, organizer, { event_name: 'A rather long event name that has to wrap on a small phone screen', total_tickets: 50 });
    const page = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${t.baseUrl}/app/`);
    await expect.poll(() => page.locator('li.card').count(), UI).toBeGreaterThan(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input')].filter((input) => input.labels?.length === 0).map((input) => input.id));
    expect(unlabelled).toEqual([]);
    expect(await page.locator('#status').getAttribute('aria-live')).toBe('polite');
    await screenshot(page, 'box-office-phone');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
