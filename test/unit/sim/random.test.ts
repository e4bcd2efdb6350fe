import fc from 'fast-check';
import { Random, cumulative } from '../../../src/sim/random';

describe('Random', () => {
  it('repeats the same draws for the same seed and stream', () => {
    fc.assert(
      fc.property(fc.integer(), fc.string(), (seed, stream) => {
        const a = new Random(seed, stream);
        const b = new Random(seed, stream);
        for (let i = 0; i < 20; i++) if (a.nextUint32() !== b.nextUint32()) return false;
        return true;
      }),
    );
  });

  it('gives different streams for different seeds or stream names', () => {
    const draws = (r: Random) => Array.from({ length: 8 }, () => r.nextUint32());
    expect(draws(new Random(1, 'a'))).not.toEqual(draws(new Random(2, 'a')));
    expect(draws(new Random(1, 'a'))).not.toEqual(draws(new Random(1, 'b')));
  });

  it('keeps uniform draws in [0, 1) and integers within their bounds', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (seed, min, span) => {
        const rng = new Random(seed);
        for (let i = 0; i < 50; i++) {
          const u = rng.next();
          const n = rng.int(min, min + span);
          if (u < 0 || u >= 1 || n < min || n > min + span || !Number.isInteger(n)) return false;
        }
        return true;
      }),
    );
  });

  it('draws Poisson counts with the requested mean, for small and large means', () => {
    const rng = new Random(7);
    for (const mean of [0.3, 4, 120]) {
      let sum = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) sum += rng.poisson(mean);
      // Within 5 standard errors of the mean.
      expect(Math.abs(sum / n - mean)).toBeLessThan(5 * Math.sqrt(mean / n));
    }
  });

  it('draws log-normal values around their median', () => {
    const rng = new Random(3);
    const values = Array.from({ length: 20001 }, () => rng.logNormal(8000, 0.8)).sort((a, b) => a - b);
    expect(values[10000]).toBeGreaterThan(8000 * 0.95);
    expect(values[10000]).toBeLessThan(8000 * 1.05);
  });

  it('draws weighted indices in proportion to their weights, also within a slice of a shared table', () => {
    const rng = new Random(11);
    const table = cumulative([1, 3, 0, 6]);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[rng.weighted(table)]++;
    expect(counts[2]).toBe(0);
    expect(counts[1] / counts[0]).toBeGreaterThan(2.6);
    expect(counts[1] / counts[0]).toBeLessThan(3.4);
    // Two customers' tables side by side, each a running sum from zero: the second holds weights 5 and 5.
    const shared = Float64Array.from([1, 2, 5, 10]);
    const sliceCounts = [0, 0];
    for (let i = 0; i < 10000; i++) sliceCounts[rng.weighted(shared, 2, 4)]++;
    expect(sliceCounts[0] + sliceCounts[1]).toBe(10000);
    expect(Math.abs(sliceCounts[0] - 5000)).toBeLessThan(300);
  });
});
