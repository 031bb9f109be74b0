/** New request ids: short to type, hard to guess. */
import { randomBytes } from 'node:crypto';

export function newRequestId(): string {
  // 10 characters of base32: short enough to type in `/access status`, 50 bits against guessing.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return `req_${[...randomBytes(10)].map((b) => alphabet[b % 32]).join('')}`;
}
