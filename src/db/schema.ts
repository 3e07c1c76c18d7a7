// Every table, for Drizzle (queries, relations) and drizzle-kit (`npm run db:generate` diffs this file's exports
// against drizzle/). One file per part: the sale's own tables, the webhooks', the waiting room's.
export * from './schema/core.js';
export * from './schema/webhooks.js';
export * from './schema/waiting-room.js';
