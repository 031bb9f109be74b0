ALTER TABLE "access_requests" ADD COLUMN "pending_until" timestamp with time zone DEFAULT now() + interval '24 hours' NOT NULL;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "remind_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "warn_before_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "warned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "grants" ADD COLUMN "revoked_by" text;--> statement-breakpoint
ALTER TABLE "grants" ADD COLUMN "revoke_note" text;