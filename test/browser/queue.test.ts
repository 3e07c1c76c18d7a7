import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { createEvent, registerAndLogin, uniqueEmail, type TestUser } from '../helpers/factories.js';
import { join as joinQueue, manyUsers, putRoom, roomSettings } from '../helpers/waiting-room.js';
import { hasChromium, openBrowser, screenshot, type Browser } from './browser.js';

// The box office's queue view (issue 14) in headless Chromium against the real server: a buyer who presses
// Book while the event has a waiting room is put in line, sees where they stand, and books by themself once
// admitted. web/dist was built by test/global-setup.ts.
const PASSWORD = 'correct horse battery';
const UI = { timeout: 15_000 };

describe.skipIf(!hasChromium)('the waiting room in the web box office', () => {
  let t: TestApp;
  let browser: Browser;
  let organizer: TestUser;

  beforeAll(async () => {
    [t, browser] = await Promise.all([buildTestApp({ WAITING_ROOM_TICK_MS: '100' }), openBrowser()]);
    organizer = await registerAndLogin(t.app);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('when a fan presses Book during a queued on-sale, then the page shows the line, moves on by itself when admitted and books with the pass', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Big Show', total_tickets: 50 });
    // One slot: the first of three earlier fans takes it, so the page's fan waits behind the other two.
    await putRoom(t.app, organizer, event.id, roomSettings({ admit_per_minute: 60, max_active: 1, grace_seconds: 60 }));
    for (const fan of await manyUsers(t.app, t.testDb.database, 3)) await joinQueue(t.app, fan, event.id);

    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/`);
    const email = uniqueEmail('fan');
    const register = page.locator('#register-form');
    await register.getByLabel('Email').fill(email);
    await register.getByLabel('Password').fill(PASSWORD);
    await register.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => page.locator('#status').textContent(), UI).toContain('Account created');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('#whoami').textContent(), UI).toBe(`Signed in as ${email}`);

    await page.getByRole('button', { name: 'Book Big Show' }).click();
    const panel = page.locator('#queue-panel');
    await expect.poll(() => panel.isVisible(), UI).toBe(true);
    expect(await panel.getByRole('heading').textContent()).toBe('Waiting room: Big Show');
    await expect.poll(() => panel.locator('.queue-place').innerText(), UI).toMatch(/Position\s+4\s+Ahead of you\s+2 people\s+Estimated wait\s+\d+:\d\d/);
    expect(await panel.locator('progress').getAttribute('max')).toBe('3');
    await screenshot(page, 'box-office-queue');

    // More room at the front: the two ahead and then this fan are admitted, one a second.
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}/waiting-room`, headers: organizer.auth, payload: { max_active: 10 } });
    await expect.poll(() => page.locator('#status').textContent(), UI).toMatch(/^Booked! Ticket #\d+ for Big Show\.$/);
    expect(await panel.getAttribute('data-status')).toBe('admitted');
    expect(await panel.locator('.queue-countdown').textContent()).toMatch(/^Your pass is valid for (9|10):\d\d$/);
    const sold = (await t.app.inject({ url: `/events/${event.id}` })).json<{ tickets_sold: number }>();
    expect(sold.tickets_sold).toBe(1);
    await screenshot(page, 'box-office-queue-admitted');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
