ALTER TABLE "events" ADD COLUMN "waiting" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-edited after drizzle-kit generate: existing rows are filled before NOT NULL applies. Tickets of an
-- order take the order's unit price (what was paid); others the event's current price (all we know).
ALTER TABLE "tickets" ADD COLUMN "price" numeric(10, 2);--> statement-breakpoint
UPDATE "tickets" t SET "price" = COALESCE(
  (SELECT round(o."total_price" / o."quantity", 2) FROM "orders" o WHERE o."id" = t."order_id"),
  (SELECT e."ticket_price" FROM "events" e WHERE e."id" = t."event_id"));--> statement-breakpoint
ALTER TABLE "tickets" ALTER COLUMN "price" SET NOT NULL;--> statement-breakpoint
UPDATE "events" e SET "waiting" = w."n" FROM (SELECT "event_id", count(*)::int AS "n" FROM "waitlist" GROUP BY "event_id") w WHERE w."event_id" = e."id";--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_waiting_nonnegative" CHECK ("events"."waiting" >= 0);
