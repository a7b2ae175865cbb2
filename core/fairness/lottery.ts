import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** The largest lottery seed (a 32-bit unsigned integer). */
export const MAX_LOTTERY_SEED = 0xffff_ffff;

/**
 * The lottery draw (docs/fairness.md): a Fisher–Yates shuffle of `count` requests taken in arrival
 * order, driven by xoroshiro128+ seeded with `seed`. Returns each request's draw number: result[i] is the
 * place (1..count) of the i-th arrival. The same count and seed always give the same draw, so anyone can
 * re-run it.
 */
export function drawOrder(count: number, seed: number): Int32Array {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_LOTTERY_SEED) throw new RangeError(`lottery seed must be an integer in 0..${MAX_LOTTERY_SEED}`);
  const items = new Int32Array(count);
  for (let i = 0; i < count; i++) items[i] = i;
  const rng = xoroshiro128plus(seed | 0);
  for (let i = count - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  const drawNo = new Int32Array(count);
  for (let place = 0; place < count; place++) drawNo[items[place]!] = place + 1;
  return drawNo;
}
