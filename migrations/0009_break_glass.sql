ALTER TABLE "access_requests" ADD COLUMN "acknowledged_by" text;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "acknowledged_at" timestamp with time zone;