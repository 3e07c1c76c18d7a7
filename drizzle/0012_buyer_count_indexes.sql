DROP INDEX "orders_event_id_status_idx";--> statement-breakpoint
DROP INDEX "tickets_event_id_status_idx";--> statement-breakpoint
CREATE INDEX "orders_event_status_user_idx" ON "orders" USING btree ("event_id","status","user_id");--> statement-breakpoint
CREATE INDEX "tickets_event_status_user_idx" ON "tickets" USING btree ("event_id","status","user_id");