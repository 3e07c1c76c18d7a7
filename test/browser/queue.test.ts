import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { createEvent, registerAndLogin, type EventBody, type TestUser } from '../helpers/factories.js';
import { join as joinQueue, manyUsers, putRoom, roomSettings } from '../helpers/waiting-room.js';
import { axeViolations, hasChromium, openBrowser, screenshot, type Browser } from './browser.js';
import { card, expectStatus, registerThroughPage, UI } from './pages.js';

// The box office's waiting room (issue 14) in headless Chromium against the real server on a real port: the
// event page leads into the line, the queue view shows the place and moves on by itself once admitted, and
// the purchase carries the pass (the room stays open, so without it the purchase would be refused).

describe.skipIf(!hasChromium)('the web box office: the waiting room', () => {
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

  it('when a fan books during a queued on-sale, then the page shows the place in line, moves on to buying by itself when admitted, and buys with the pass', async () => {
    const event = await createEvent(t.app, organizer, { event_name: 'Big Show', total_tickets: 50 });
    // One slot: the first of three earlier fans takes it (and does not buy), so the page's fan waits behind two.
    await putRoom(t.app, organizer, event.id, roomSettings({ admit_per_minute: 60, max_active: 1, grace_seconds: 60 }));
    for (const fan of await manyUsers(t.app, t.testDb.database, 3)) await joinQueue(t.app, fan, event.id);

    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/app/#/`);
    await registerThroughPage(page);

    // The event page offers the line instead of the purchase form.
    await page.goto(`${t.baseUrl}/app/#/events/${event.id}`);
    const door = page.locator('#queue-door');
    await expect.poll(() => door.innerText(), UI).toContain('Tickets for this on-sale are sold through a waiting room');
    expect(await page.locator('#buying form').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);

    // The one-click Book of the events list leads into the line too (its 403 is the room's).
    await page.goto(`${t.baseUrl}/app/#/`);
    await card(page, 'Big Show').getByRole('button', { name: 'Book Big Show' }).click();
    await expect.poll(() => page.evaluate(() => location.hash), UI).toBe(`#/queue/${event.id}`);
    const panel = page.locator('#queue-panel');
    expect(await panel.getByRole('heading', { level: 2 }).textContent()).toBe('Waiting room: Big Show');
    await expect.poll(() => panel.locator('#queue-place').innerText(), UI).toMatch(/Position\s+4\s+Ahead of you\s+2 people\s+Estimated wait\s+\d+:\d\d/);
    expect(await panel.locator('progress').getAttribute('max')).toBe('3');
    expect(await panel.locator('progress').getAttribute('value')).toBe('0');
    expect(await page.locator('#queue-live').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#queue-live').textContent()).toBe('You are number 4 in line, 2 people ahead of you.');
    // A new view takes the focus to its heading.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('queue-heading');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'box-office-queue');

    // More room at the front: the two ahead, then this fan, are admitted (one a second), and the page moves
    // on to the event's purchase form by itself, with the pass's countdown.
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}/waiting-room`, headers: organizer.auth, payload: { max_active: 10 } });
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: 20_000 }).toBe(`#/events/${event.id}`);
    await expectStatus(page, /^It is your turn for Big Show: choose your seats now\. Your pass is valid for (9:5\d|10:00)\.$/);
    await expect.poll(() => door.innerText(), UI).toMatch(/^Your turn: your queue pass is valid for (9:5\d|10:00)\.$/);
    await page.locator('#buying form').waitFor(UI);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'box-office-queue-admitted');

    await page.getByLabel('How many seats').selectOption('2');
    await page.getByRole('button', { name: 'Buy now' }).click();
    await expectStatus(page, 'Bought 2 tickets for Big Show. They are in My tickets.');
    // The room is still open: the order went through because it carried this fan's Queue-Pass.
    const room = (await t.app.inject({ url: `/events/${event.id}/waiting-room` })).json<{ state: string }>();
    expect(room.state).toBe('open');
    expect((await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>().tickets_sold).toBe(2);
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
