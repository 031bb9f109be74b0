ALTER TABLE "access_requests" ADD COLUMN "extends_id" text;--> statement-breakpoint
CREATE INDEX "access_requests_extends_idx" ON "access_requests" USING btree ("extends_id");