ALTER TABLE "users" ADD COLUMN "token_revoked_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "users_token_revoked_at_idx" ON "users" USING btree ("token_revoked_at");