import { isPrime } from './is-prime';

export interface PrimeCheckResult {
  isPrime: boolean;
  /** Seconds spent on the computation itself. */
  processingTime: number;
}

export function checkPrime(n: number): PrimeCheckResult {
  const started = performance.now();
  const result = isPrime(n);
  return { isPrime: result, processingTime: (performance.now() - started) / 1000 };
}
