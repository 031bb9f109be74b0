CREATE TABLE "policy_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"sha256" text NOT NULL,
	"applied_by" text NOT NULL,
	"source" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	"diff" text NOT NULL,
	CONSTRAINT "policy_versions_source_check" CHECK ("policy_versions"."source" IN ('file', 'home', 'cli'))
);
