-- Every applied policy is kept: refuse UPDATE, DELETE and TRUNCATE of policy_versions at the database.
CREATE OR REPLACE FUNCTION policy_versions_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'policy_versions is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER policy_versions_no_update BEFORE UPDATE OR DELETE ON policy_versions
  FOR EACH ROW EXECUTE FUNCTION policy_versions_append_only();
--> statement-breakpoint
CREATE TRIGGER policy_versions_no_truncate BEFORE TRUNCATE ON policy_versions
  FOR EACH STATEMENT EXECUTE FUNCTION policy_versions_append_only();
