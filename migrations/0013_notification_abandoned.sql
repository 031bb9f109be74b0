DROP INDEX "notifications_undelivered_idx";--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "abandoned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "abandon_reason" text;--> statement-breakpoint
CREATE INDEX "notifications_undelivered_idx" ON "notifications" USING btree ("created_at") WHERE delivered_at IS NULL AND abandoned_at IS NULL;