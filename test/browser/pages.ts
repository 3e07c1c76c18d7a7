import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { uniqueEmail } from '../helpers/factories.js';

// Steps the browser tests share: what a person does on the box office, in its own words.

export const PASSWORD = 'correct horse battery';
export const UI = { timeout: 10_000 };

export const status = (page: Page) => page.locator('#status');
export const card = (page: Page, name: string) => page.locator('li.card', { has: page.getByRole('heading', { name, exact: true }) });

/** Polls the live region until it says `text` (a string it contains, or a pattern). */
export async function expectStatus(page: Page, text: string | RegExp): Promise<void> {
  if (typeof text === 'string') await expect.poll(() => status(page).textContent(), UI).toContain(text);
  else await expect.poll(() => status(page).textContent(), UI).toMatch(text);
}

/** Registers through the form; registering signs you in. */
export async function registerThroughPage(page: Page, email = uniqueEmail('fan')): Promise<string> {
  const register = page.locator('#register-form');
  await register.getByLabel('Email').fill(email);
  await register.getByLabel('Password').fill(PASSWORD);
  await register.getByRole('button', { name: 'Register' }).click();
  await expectStatus(page, `Account created for ${email}. You are logged in.`);
  await expect.poll(() => page.locator('#whoami').textContent(), UI).toBe(`Signed in as ${email}`);
  return email;
}

export async function logInThroughPage(page: Page, email: string): Promise<void> {
  const login = page.locator('#login-form');
  await login.getByLabel('Email').fill(email);
  await login.getByLabel('Password').fill(PASSWORD);
  await login.getByRole('button', { name: 'Log in' }).click();
  await expect.poll(() => page.locator('#whoami').textContent(), UI).toBe(`Signed in as ${email}`);
}

/** Answers the confirmation dialog with the button named `choice`. */
export async function answerDialog(page: Page, choice: string | RegExp): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor(UI);
  await dialog.getByRole('button', { name: choice }).click();
  await dialog.waitFor({ state: 'detached', ...UI });
}
