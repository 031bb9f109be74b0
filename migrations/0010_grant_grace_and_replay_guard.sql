CREATE TABLE "slack_request_signatures" (
	"signature" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "grant_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "grant_started_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "slack_request_signatures_received_idx" ON "slack_request_signatures" USING btree ("received_at");