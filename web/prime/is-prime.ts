/**
 * Primality by trial division. Deliberately the slow, honest algorithm: `/load` exists to burn CPU so
 * that the auto-scaling alarm has something to see. Only multiples of 2 and 3 are skipped (the 6k ± 1
 * wheel), every other candidate divisor up to √n is tried.
 */
export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n < 4) return true;
  if (n % 2 === 0 || n % 3 === 0) return false;
  const limit = Math.floor(Math.sqrt(n));
  for (let divisor = 5; divisor <= limit; divisor += 6) {
    if (n % divisor === 0 || n % (divisor + 2) === 0) return false;
  }
  return true;
}
