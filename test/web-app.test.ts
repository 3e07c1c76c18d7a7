import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';

// test/global-setup.ts has built web/dist before this file runs.
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('the web box office', () => {
  it('when a browser asks for /, then it still gets the old JSON answer (the page lives at /app/)', async () => {
    const response = await t.app.inject({ url: '/', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(response.json()).toEqual({ message: 'BookFast API' });
  });

  it('when GET /app, then it redirects to /app/ so the page’s relative URLs resolve', async () => {
    const response = await t.app.inject({ url: '/app' });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe('/app/');
  });

  it('when GET /app/, then the page is served, revalidated each time, and its hashed assets cached for good', async () => {
    const page = await t.app.inject({ url: '/app/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<title>BookFast box office</title>');
    const script = /src="(\/app\/assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await t.app.inject({ url: script });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('when a file is not there, then 404 in the API’s shape', async () => {
    const response = await t.app.inject({ url: '/app/assets/nope.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ detail: 'Not Found' });
  });
});
