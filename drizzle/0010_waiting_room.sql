CREATE TABLE "queue_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"position" integer,
	"status" text DEFAULT 'waiting' NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"admitted_at" timestamp with time zone,
	"pass_id" uuid,
	"pass_expires_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	CONSTRAINT "queue_entries_status_valid" CHECK ("queue_entries"."status" IN ('waiting', 'admitted', 'abandoned'))
);
--> statement-breakpoint
CREATE TABLE "waiting_rooms" (
	"event_id" integer PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"prequeue_opens_at" timestamp with time zone NOT NULL,
	"onsale_at" timestamp with time zone NOT NULL,
	"admit_per_minute" integer NOT NULL,
	"max_active" integer NOT NULL,
	"pass_minutes" integer NOT NULL,
	"grace_seconds" integer NOT NULL,
	"seed" text NOT NULL,
	"shuffled_at" timestamp with time zone,
	"last_position" integer DEFAULT 0 NOT NULL,
	"served_up_to" integer DEFAULT 0 NOT NULL,
	"admit_credit" double precision DEFAULT 0 NOT NULL,
	"last_tick_at" timestamp with time zone,
	"waiting" integer DEFAULT 0 NOT NULL,
	"active" integer DEFAULT 0 NOT NULL,
	"admitted_total" integer DEFAULT 0 NOT NULL,
	"abandoned_total" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "waiting_rooms_state_valid" CHECK ("waiting_rooms"."state" IN ('open', 'paused', 'passthrough', 'closed')),
	CONSTRAINT "waiting_rooms_settings_valid" CHECK ("waiting_rooms"."prequeue_opens_at" <= "waiting_rooms"."onsale_at" AND "waiting_rooms"."admit_per_minute" BETWEEN 1 AND 1000000 AND "waiting_rooms"."max_active" >= 1
          AND "waiting_rooms"."pass_minutes" BETWEEN 1 AND 120 AND "waiting_rooms"."grace_seconds" BETWEEN 5 AND 3600)
);
--> statement-breakpoint
ALTER TABLE "queue_entries" ADD CONSTRAINT "queue_entries_event_id_waiting_rooms_event_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."waiting_rooms"("event_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queue_entries" ADD CONSTRAINT "queue_entries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "waiting_rooms" ADD CONSTRAINT "waiting_rooms_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "queue_entries_event_user_key" ON "queue_entries" USING btree ("event_id","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "queue_entries_event_position_key" ON "queue_entries" USING btree ("event_id","position");--> statement-breakpoint
CREATE INDEX "queue_entries_waiting_idx" ON "queue_entries" USING btree ("event_id","position") WHERE "queue_entries"."status" = 'waiting';--> statement-breakpoint
CREATE INDEX "queue_entries_active_idx" ON "queue_entries" USING btree ("event_id","pass_expires_at") WHERE "queue_entries"."status" = 'admitted' AND "queue_entries"."completed_at" IS NULL;--> statement-breakpoint
CREATE INDEX "queue_entries_admitted_at_idx" ON "queue_entries" USING btree ("event_id","admitted_at") WHERE "queue_entries"."admitted_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "queue_entries_pass_id_idx" ON "queue_entries" USING btree ("pass_id") WHERE "queue_entries"."pass_id" IS NOT NULL;