import { ValidationError } from '../http/errors';

/** `/load?number=N`: a decimal integer 1 ≤ N ≤ 2^53 − 1 (the largest integer a JSON number carries exactly). */
export function parseLoadNumber(raw: unknown): number {
  if (typeof raw !== 'string' || !/^[0-9]{1,16}$/.test(raw)) {
    throw new ValidationError('number must be an integer between 1 and 9007199254740991', 'number');
  }
  const n = Number(raw);
  if (n < 1 || !Number.isSafeInteger(n)) {
    throw new ValidationError('number must be an integer between 1 and 9007199254740991', 'number');
  }
  return n;
}
