ALTER TABLE "access_requests" ADD COLUMN "flags" jsonb;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "auto_approved_by" text;