import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { bookOverHttp, createEvent, futureDate, registerAndLogin, uniqueEmail, type TestUser } from '../helpers/factories.js';
import { axeViolations, hasChromium, openBrowser, screenshot, type Browser } from './browser.js';
import { expectStatus, logInThroughPage, registerThroughPage, UI } from './pages.js';

// Every view of the box office passes axe-core's WCAG 2.1 A/AA rules and best practices, keyboard focus
// goes where a person expects, the icon is there, and on a phone nothing is hidden or scrolls sideways.

describe.skipIf(!hasChromium)('the web box office: accessibility', () => {
  let t: TestApp;
  let browser: Browser;
  let organizer: TestUser;

  beforeAll(async () => {
    [t, browser] = await Promise.all([buildTestApp(), openBrowser()]);
    organizer = await registerAndLogin(t.app, uniqueEmail('a11y'));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const visit = async (page: Page, hash: string, ready: string) => {
    await page.goto(`${t.baseUrl}/app/#${hash}`);
    await page.locator(ready).first().waitFor(UI);
  };

  it('when each view is shown, signed out and signed in, then axe-core finds no violations', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Accessible Gig', total_tickets: 5 });
    const soldOut = await createEvent(t.app, organizer, { event_name: 'Full Gig', total_tickets: 1 });
    const buyer = await registerAndLogin(t.app);
    await bookOverHttp(t.baseUrl, buyer.token, event.id);
    await bookOverHttp(t.baseUrl, buyer.token, soldOut.id);
    await t.app.inject({ method: 'POST', url: '/orders', headers: buyer.auth, payload: { event_id: event.id, quantity: 1, hold: true } });

    const page = await browser.newPage();
    await visit(page, '/', 'li.card');
    expect(await axeViolations(page)).toEqual([]);
    // The check can fail: a field without a label is caught.
    await page.evaluate(() => document.getElementById('view')!.append(document.createElement('input')));
    expect((await axeViolations(page)).map((v) => v.id)).toContain('label');
    await visit(page, `/events/${event.id}`, '#register-form');
    expect(await axeViolations(page)).toEqual([]);

    await logInThroughPage(page, buyer.email);
    const views: [string, string][] = [
      ['/', 'li.card'],
      [`/events/${event.id}`, '.hold'],
      [`/events/${soldOut.id}`, '#waitlist button'],
      ['/tickets', '#tickets img.qr[src]'],
    ];
    for (const [hash, ready] of views) {
      await visit(page, hash, ready);
      expect({ hash, violations: await axeViolations(page) }).toEqual({ hash, violations: [] });
    }
    // A confirmation dialog, open.
    await page.locator('#tickets li button').first().click();
    await page.getByRole('dialog').waitFor(UI);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('dialog').getByRole('button', { name: 'Keep it' }).click();

    await page.getByRole('button', { name: 'Log out' }).click();
    await logInThroughPage(page, organizer.email);
    for (const [hash, ready] of [
      ['/organizer', '#sales li'],
      [`/organizer/events/${event.id}`, '#attendees tbody tr'],
      [`/door/${event.id}`, '#door-code'],
    ] as [string, string][]) {
      await visit(page, hash, ready);
      expect({ hash, violations: await axeViolations(page) }).toEqual({ hash, violations: [] });
    }
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it('when a keyboard user tabs from the top, then focus goes skip link, navigation, then the view; a new view moves focus to its heading', async () => {
    await createEvent(t.app, organizer, { event_name: 'Keyboard Gig', date: futureDate(1), total_tickets: 5 });
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/`);
    const email = await registerThroughPage(page);
    // A fresh load (the sign-in lasts for the tab), so Tab starts at the top of the page.
    await page.reload();
    await page.locator('li.card, #events-empty').first().waitFor(UI);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim() ?? ''));
    }
    // After the header, the first thing in the view: the first event's booking button.
    expect(order).toEqual(['Skip to content', 'Events', 'My tickets', 'Organizer', 'Log out', 'Book Keyboard Gig']);
    // The skip link lands in the view, which stays as it was (not rebuilt: what was typed is still there).
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login-email').fill('half-typed@example.com');
    await page.locator('a.skip').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), UI).toBe('view');
    expect(await page.locator('#login-email').inputValue()).toBe('half-typed@example.com');
    await logInThroughPage(page, email);

    await page.getByRole('navigation').getByRole('link', { name: 'My tickets' }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent), UI).toBe('My tickets');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('My tickets');
    await page.close();
  });

  it('when the page loads, then it has its favicon', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/`);
    const href = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(href).toBe('/app/favicon.svg');
    const icon = await fetch(new URL(href!, t.baseUrl));
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    await page.close();
  });

  it('when the screen is a phone’s (375 px) and a message shows, then nothing scrolls sideways and the message covers no content, even scrolled to the end', async () => {
    await createEvent(t.app, organizer, { event_name: 'A rather long event name that has to wrap on a small phone screen', total_tickets: 50 });
    const page = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${t.baseUrl}/app/`);
    await expect.poll(() => page.locator('li.card').count(), UI).toBeGreaterThan(0);
    // Pressed while signed out, Book says "Log in to book" and focuses the login form in the same task: the
    // room kept below the content (and the scroll padding) must already be the message's height then, not a
    // frame later, or that focus scrolls the field behind the message.
    const [room, height] = await page.evaluate(() => {
      document.querySelector<HTMLButtonElement>('li.card button')!.click();
      const space = getComputedStyle(document.documentElement).getPropertyValue('--status-space').trim();
      return [space, `${document.getElementById('status')!.offsetHeight}px`];
    });
    expect(height).not.toBe('0px');
    expect(room).toBe(height);
    await expectStatus(page, 'Log in to book');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    // Scrolled to the very end, the last content (the footer) ends above the message.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    const [footer, message] = await Promise.all([page.locator('footer').boundingBox(), page.locator('#status').boundingBox()]);
    expect(message!.height).toBeGreaterThan(0);
    expect(footer!.y + footer!.height).toBeLessThanOrEqual(message!.y + 1);
    // A field focused by the keyboard is scrolled clear of the message too.
    await page.locator('#register-password').focus();
    const [field, stillThere] = await Promise.all([page.locator('#register-password').boundingBox(), page.locator('#status').boundingBox()]);
    expect(field!.y + field!.height).toBeLessThanOrEqual(stillThere!.y + 1);
    await screenshot(page, 'box-office-phone');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
