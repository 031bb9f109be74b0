/** The policy in force, and policy as code: its applied versions. */
import type { Policy } from '../../domain/policy.js';

/** The policy in force right now. */
export interface PolicySource {
  current(): Policy;
}

/** Where an applied policy came from: the file at start-up, the App Home editor, or `accessbot policy apply`. */
export type PolicyOrigin = 'file' | 'home' | 'cli';

/** One applied policy version, as stored. */
export interface StoredPolicy {
  /** The version number (increasing; the highest is in force). */
  version: number;
  /** The YAML exactly as applied. */
  text: string;
  sha256: string;
  /** A Slack user id, or `file` / the CLI user. */
  appliedBy: string;
  source: PolicyOrigin;
  appliedAt: Date;
  /** A short line diff against the previous version. */
  diff: string;
}

export type PolicyApplyResult = { ok: true; version: number; changed: boolean } | { ok: false; errors: string[] };

/**
 * Policy as code: every applied policy is a stored version, and the latest applied wins. Contract: `apply`
 * validates the text with the same parser as the file (`parsePolicy`) and refuses invalid text, storing
 * nothing; it stores a version only when the text differs (by SHA-256) from the one in force, otherwise
 * answers `changed: false` with the version in force; a stored version and its `policy.applied` audit entry
 * are one transaction, and concurrent applies are serialised. Source `file` is the start-up sync: the text
 * is applied only when the file changed, i.e. it is none of the texts applied since the last version that
 * came from the file, so an unchanged file never overrides a newer Home-tab or CLI edit. Versions are never
 * changed or removed.
 */
export interface PolicyVersions {
  active(): Promise<StoredPolicy | null>;
  /** The version number in force, or null before the first: a cheap query for polling. */
  activeVersion(): Promise<number | null>;
  apply(text: string, actor: string, source: PolicyOrigin): Promise<PolicyApplyResult>;
  /** The newest `limit` versions, newest first. */
  list(limit: number): Promise<StoredPolicy[]>;
}
