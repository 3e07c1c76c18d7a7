CREATE INDEX "webhook_outbox_endpoint_status_idx" ON "webhook_outbox" USING btree ("endpoint_id","status","id");--> statement-breakpoint
DROP INDEX "webhook_outbox_pending_idx";--> statement-breakpoint
DROP INDEX "webhook_outbox_endpoint_id_idx";
