import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrime } from '../../../web/prime/is-prime';

describe('isPrime', () => {
  it('answers the small cases', () => {
    // Prepare
    const primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];
    // Act / Assess
    for (let n = 0; n < 50; n += 1) assert.equal(isPrime(n), primes.includes(n), `n=${n}`);
  });

  it('finds the prime of the original benchmark', () => {
    assert.equal(isPrime(112272535095293), true);
  });

  it('rejects products of two large primes (no shortcut past a factor)', () => {
    assert.equal(isPrime(1_000_003 * 1_000_033), false);
    assert.equal(isPrime(9_999_991 * 9_999_973), false);
  });

  it('handles squares of primes, where the factor is exactly √n', () => {
    assert.equal(isPrime(25), false);
    assert.equal(isPrime(49), false);
    assert.equal(isPrime(10_007 * 10_007), false);
  });

  it('rejects numbers that are not safe positive integers', () => {
    for (const n of [-7, 1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 1])
      assert.equal(isPrime(n), false);
  });
});
