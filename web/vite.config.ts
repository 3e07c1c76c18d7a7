import { defineConfig } from 'vite';

// `vite build web` (part of `npm run build`) writes web/dist, which the API serves under /app/.
// `npm run dev:web` serves the page with hot reload and forwards API calls to `npm run dev` on :8000.
const API = 'http://localhost:8000';
const API_PATHS = ['/events', '/event', '/register', '/login', '/logout', '/me', '/book', '/orders', '/tickets', '/docs', '/health'];

export default defineConfig({
  base: '/app/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: Object.fromEntries(API_PATHS.map((path) => [path, API])) },
});
