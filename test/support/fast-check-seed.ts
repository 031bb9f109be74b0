/**
 * The property tests' seed. `npm test` (and so CI) uses a fixed one: a run is reproducible, and a red build means
 * the change broke something, not that the dice found an input no one had drawn before. `npm run test:fuzz`
 * draws a new seed each run to explore; a failure prints its seed, and `FC_SEED=<seed> npm test` replays it.
 * An input found that way belongs in a plain test too (see `test/policy/schema.test.ts`).
 */
import fc from 'fast-check';

const raw = process.env.FC_SEED;
export const FC_SEED = raw === 'random' ? Math.floor(Math.random() * 2 ** 31) : raw ? Number(raw) : 20_261_128;

fc.configureGlobal({ seed: FC_SEED });
