-- Claims of the old design that never got an answer (a request that died) meant "in progress" or "unknown"; a
-- key now has a row only for a finished outcome, so they go: a retry with such a key is served anew.
DELETE FROM "idempotency_keys" WHERE "status_code" IS NULL OR "response" IS NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ALTER COLUMN "status_code" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ALTER COLUMN "response" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "ticket_id" integer;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "order_id" integer;