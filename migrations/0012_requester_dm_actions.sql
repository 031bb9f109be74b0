CREATE TABLE "requester_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"platform" text NOT NULL,
	"channel" text NOT NULL,
	"message_id" text NOT NULL,
	"notice" text NOT NULL,
	"shown_expires_at" timestamp with time zone,
	"shown_duration_seconds" integer NOT NULL,
	"with_login" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "requester_messages" ADD CONSTRAINT "requester_messages_request_id_access_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "requester_messages_message_uq" ON "requester_messages" USING btree ("platform","channel","message_id");--> statement-breakpoint
CREATE INDEX "requester_messages_open_idx" ON "requester_messages" USING btree ("request_id") WHERE ended_at IS NULL;