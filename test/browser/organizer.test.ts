import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, uniqueEmail, type EventBody } from '../helpers/factories.js';
import { hasChromium, openBrowser, screenshot, type Browser } from './browser.js';
import { expectStatus, logInThroughPage, registerThroughPage, UI } from './pages.js';

// The organizer's side of the web box office: create and edit events, stats, attendees, the door.

describe.skipIf(!hasChromium)('the web box office: organizing', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    [t, browser] = await Promise.all([buildTestApp(), openBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const stored = async (id: number) => (await t.app.inject({ url: `/events/${id}` })).json<EventBody>();

  it('when an organizer creates an event with limits and a currency, then sales move live, edits are saved, stats chart the hours and the CSV downloads', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/`);
    await registerThroughPage(page, uniqueEmail('organizer'));
    await page.getByRole('link', { name: 'Organizer' }).click();
    const form = page.locator('#create-form');
    await form.getByLabel('Name').fill('Organizer Night');
    await form.getByLabel('Date and time').fill('2031-05-01T20:00');
    await form.getByLabel('Ticket price').fill('25.00');
    await form.getByLabel('Currency').selectOption('CHF');
    await form.getByLabel('Tickets for sale').fill('10');
    await form.getByLabel('Most seats per order').fill('4');
    await form.getByLabel('Most seats per buyer').fill('2');
    await form.getByLabel('Hold minutes').fill('15');
    await form.getByRole('button', { name: 'Create event' }).click();
    await expectStatus(page, 'Event "Organizer Night" created with 10 tickets for sale.');

    const sale = page.locator('#sales li').first();
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('0 tickets sold of 10 · 10 left');
    const eventId = Number(await sale.getAttribute('data-event-id'));
    expect(await stored(eventId)).toMatchObject({ currency: 'CHF', ticket_price: '25.00', max_per_order: 4, max_per_user: 2, hold_minutes: 15 });
    const buyers = await Promise.all([1, 2, 3].map(() => registerAndLogin(t.app)));
    for (const buyer of buyers) expect((await bookOverHttp(t.baseUrl, buyer.token, eventId)).status).toBe(200);
    await expect.poll(() => sale.locator('.figures').textContent(), UI).toBe('3 tickets sold of 10 · 7 left');
    // Followed through GET /events/{id}/live (Server-Sent Events), not by polling.
    expect(await sale.locator('.hint').textContent()).toBe('Live');
    await screenshot(page, 'box-office-organizer');

    await sale.getByRole('link', { name: /^Manage Organizer Night/ }).click();
    const edit = page.locator('#edit-form');
    await expect.poll(() => edit.getByLabel('Tickets for sale').inputValue(), UI).toBe('10');
    await edit.getByLabel('Tickets for sale').fill('12');
    await edit.getByLabel('Hold minutes').fill('20');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await expectStatus(page, 'Saved the changes to Organizer Night.');
    expect(await stored(eventId)).toMatchObject({ total_tickets: 12, hold_minutes: 20, currency: 'CHF', date: '2031-05-01T20:00:00.000Z' });

    const stats = page.locator('#stats');
    await expect.poll(() => stats.locator('dd').first().textContent(), UI).toBe('3');
    expect(await stats.getByText('CHF 75.00').count()).toBe(1);
    // One bar for the hour the three sold in, named by the figure's title.
    expect(await page.getByRole('img', { name: 'Tickets sold per hour' }).locator('rect.bar').count()).toBe(1);
    await expect.poll(() => page.locator('#attendees tbody tr').count(), UI).toBe(3);
    await screenshot(page, 'box-office-stats');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe(`event-${eventId}-attendees.csv`);
    const csv = readFileSync((await download.path())!, 'utf8').split('\r\n').filter(Boolean);
    expect(csv[0]).toBe('ticket_id,user_id,email,status,purchase_date,checked_in_at,price,currency');
    expect(csv.slice(1).map((line) => line.split(',')[2]).sort()).toEqual(buyers.map((b) => b.email).sort());
    expect(csv.slice(1).every((line) => line.endsWith(',booked,' + line.split(',')[4] + ',,25.00,CHF'))).toBe(true);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when tickets are checked in at the door on a phone, then admitted / already admitted at <time> / cancelled / other event / unknown show at a glance', async () => {
    const organizer = await registerAndLogin(t.app, uniqueEmail('door'));
    const event = await createEvent(t.app, organizer, { event_name: 'Door Night', total_tickets: 10 });
    const other = await createEvent(t.app, organizer, { event_name: 'Other Night', total_tickets: 10 });
    const buyer = await registerAndLogin(t.app);
    const good = (await bookOverHttp(t.baseUrl, buyer.token, event.id)).body as { id: number; code: string };
    const cancelled = (await bookOverHttp(t.baseUrl, buyer.token, event.id)).body as { id: number; code: string };
    await t.app.inject({ method: 'POST', url: `/tickets/${cancelled.id}/cancel`, headers: buyer.auth });
    const elsewhere = (await bookOverHttp(t.baseUrl, buyer.token, other.id)).body as { code: string };

    const page = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${t.baseUrl}/app/`);
    await logInThroughPage(page, organizer.email);
    await page.goto(`${t.baseUrl}/app/#/door/${event.id}`);
    const code = page.getByLabel('Ticket code');
    const result = page.locator('#door-result');
    const scan = async (text: string) => {
      await code.fill(text);
      await code.press('Enter');
    };

    await scan(good.code);
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict admitted');
    expect(await result.locator('p').allTextContents()).toEqual(['Admitted', `Ticket #${good.id}`]);
    // The field is empty and focused again, ready for the next ticket.
    expect(await code.inputValue()).toBe('');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('door-code');
    await screenshot(page, 'box-office-door-admitted');

    await scan(good.code);
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict already');
    const admittedAt = (await t.app.inject({ url: `/tickets/${good.id}`, headers: buyer.auth })).json<{ checked_in_at: string }>().checked_in_at;
    const when = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone: 'UTC' }).format(new Date(admittedAt));
    expect(await result.locator('p').allTextContents()).toEqual(['Already admitted', `at ${when}`]);
    await screenshot(page, 'box-office-door-already');

    await scan(cancelled.code);
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict cancelled');
    await scan(elsewhere.code);
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict other-event');
    await scan('not-a-ticket-code');
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict unknown');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // Headless Chromium on Linux has no BarcodeDetector: the page says so instead of offering the camera.
    expect(await page.getByText('This browser cannot read QR codes with the camera').count()).toBe(1);
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when the browser has BarcodeDetector, then a QR code held to the camera is checked in', async () => {
    const organizer = await registerAndLogin(t.app, uniqueEmail('camera'));
    const event = await createEvent(t.app, organizer, { event_name: 'Camera Night', total_tickets: 5 });
    const buyer = await registerAndLogin(t.app);
    const ticket = (await bookOverHttp(t.baseUrl, buyer.token, event.id)).body as { id: number; code: string };

    const page = await browser.newPage();
    // Chromium's fake camera (a test pattern) and a detector that reads this ticket's code off it: the
    // browser's parts are stand-ins; the page's own scanning and check-in run for real.
    await page.addInitScript((code: string) => {
      Object.assign(window, {
        BarcodeDetector: class {
          detect() {
            return Promise.resolve([{ rawValue: code }]);
          }
        },
      });
    }, ticket.code);
    await page.goto(`${t.baseUrl}/app/`);
    await logInThroughPage(page, organizer.email);
    await page.goto(`${t.baseUrl}/app/#/door/${event.id}`);
    await page.getByRole('button', { name: 'Scan with the camera' }).click();
    const result = page.locator('#door-result');
    await expect.poll(() => result.getAttribute('class'), UI).toBe('verdict admitted');
    // The same code in front of the lens frame after frame is one scan, not a stream of "already admitted".
    await page.waitForTimeout(1000);
    expect(await result.getAttribute('class')).toBe('verdict admitted');
    expect((await t.app.inject({ url: `/tickets/${ticket.id}`, headers: buyer.auth })).json<{ checked_in_at: string | null }>().checked_in_at).not.toBeNull();
    await page.getByRole('button', { name: 'Stop the camera' }).click();
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
