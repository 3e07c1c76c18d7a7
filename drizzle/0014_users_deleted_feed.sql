CREATE TABLE "users_deleted" (
	"user_id" integer NOT NULL,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "users_deleted_deleted_at_idx" ON "users_deleted" USING btree ("deleted_at");--> statement-breakpoint
-- Written by hand (drizzle-kit does not generate triggers): each deleted account is recorded for the token-revocation feed.
CREATE FUNCTION "users_record_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "users_deleted" ("user_id") VALUES (OLD."id");
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "users_record_deleted" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "users_record_deleted"();
