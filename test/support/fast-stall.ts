/**
 * Preloaded (`--import`) into child processes of fault tests that kill a worker mid-job. A job whose worker
 * died is found by BullMQ's stall check: once the dead worker's job lock has expired (lockDuration, 30 s by
 * default) the next check (every stalledInterval, 30 s by default) puts the job back in the queue. That is
 * the mechanism under test; only its clock is shortened here (lock 2 s, renewed every 1 s, checked every
 * 1 s), so a test sees the recovery in seconds instead of up to a minute. Nothing in src/ knows about it.
 */
import { Worker } from 'bullmq';

const FAST = { lockDuration: 2_000, lockRenewTime: 1_000, stalledInterval: 1_000 };

type Patchable = { opts: Record<string, unknown>; createLockManager(): void };
const proto = Worker.prototype as unknown as Patchable;
const createLockManager = proto.createLockManager;
// Called by the constructor once the options are merged with BullMQ's defaults, before anything runs.
proto.createLockManager = function patched(this: Patchable) {
  Object.assign(this.opts, FAST);
  createLockManager.call(this);
};
