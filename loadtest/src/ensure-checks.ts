/** One `ensure` check as artillery printed it after the run. */
export interface EnsureCheck {
  passed: boolean;
  /** The check as artillery words it, e.g. `http.response_time.p99 < 2000`. */
  check: string;
  /** A non-strict condition: a failure is reported but does not fail the run. */
  optional: boolean;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;
const CHECK_LINE = /^(ok|fail): (.+?)( \(optional\))?$/;

/**
 * artillery's ensure plugin writes its verdicts only to the console ("Checks:" then `ok: …` / `fail: …`
 * lines), after the JSON result is written; this reads them back so that the result and report carry them.
 */
export function parseEnsureChecks(output: string): EnsureCheck[] {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  const start = lines.findLastIndex((line) => line.trim() === 'Checks:');
  if (start < 0) return [];
  const checks: EnsureCheck[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = CHECK_LINE.exec(line.trim());
    if (!match) continue;
    const [, verdict, check = '', optional] = match;
    // Only a failure is marked "(optional)" by artillery; a passed optional check reads like any other.
    checks.push({ passed: verdict === 'ok', check, optional: optional !== undefined });
  }
  return checks;
}
