import { setPriority } from 'node:os';
import { isPrime } from './is-prime';

export interface PrimeCheckResult {
  isPrime: boolean;
  processingTime: number;
}

// Lowest CPU priority for this thread only (on Linux, setpriority on pid 0 applies to the calling
// thread): the event loop answering /health and /users keeps winning the cores while /load burns them.
try {
  setPriority(19);
} catch {
  // Not permitted in some sandboxes; the pool still works at normal priority.
}

export default function checkPrime(n: number): PrimeCheckResult {
  const started = performance.now();
  const result = isPrime(n);
  return { isPrime: result, processingTime: (performance.now() - started) / 1000 };
}
