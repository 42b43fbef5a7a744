import type { Fault } from './faults';

/**
 * Deliberate defects in the sidecar, each a textual change to a copy of the bundle the fault suite runs
 * (test/chaos/sidecar-bundle.ts output, never the sources): the proof that the suite can fail. Each must match the
 * bundle exactly once, so that a refactoring that moves the code makes the mutation run fail loudly instead of
 * testing an unchanged sidecar. `lookFirst` orders the fault rotation (every fault still runs until the first
 * failure); it only makes a run that will fail fail sooner.
 */
export interface Mutant {
  name: string;
  /** What the defect is, in the words of docs/DATABASE-TIER.md's "what it proves". */
  defect: string;
  find: RegExp;
  replace: string;
  lookFirst: readonly Fault[];
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'fence-accepts-stopping',
    defect: 'the fencer takes `stopping` for stopped',
    find: /case "terminated":\n(\s*)return "stopped";/,
    replace: 'case "terminated":\n$1case "stopping":\n$1return "stopped";',
    lookFirst: ['sigstop-holder', 'sigkill-holder'],
  },
  {
    name: 'release-without-syncfs',
    defect: 'the lease is released without syncfs of the data directory first',
    find: /await run\("sync", \["--file-system", parent\], \{ timeout, killSignal: "SIGKILL" \}\);/,
    replace: '/* mutant: no syncfs */',
    lookFirst: ['postgres-crash', 'postgres-freeze', 'sigterm-holder'],
  },
  {
    name: 'release-before-postgres-stops',
    defect:
      'a planned stop releases the lease as soon as it has asked PostgreSQL to shut down, not once it is gone ' +
      '(replaces self-fence-without-margin, equivalent: docs/DATABASE-TIER.md)',
    find: /const how = await postgres\.stopCleanly\(\{([\s\S]*?)\}\);/,
    replace: 'postgres.stopCleanly({$1}); const how = "clean";',
    lookFirst: ['sigterm-holder'],
  },
  {
    name: 'spawn-before-take-returns',
    defect:
      "PostgreSQL is started before the take's conditional write has returned (its answer is not awaited)",
    find: /const fencingToken = await store\.acquire\(\{([\s\S]*?)\n(\s*)\}\);/,
    replace:
      'const fencingToken = tokenAfter(decision.replaces, seedToken);\n$2store.acquire({$1\n$2}).catch(() => {});',
    lookFirst: ['sigkill-holder', 'sigstop-holder', 'store-partition'],
  },
  {
    name: 'absent-lease-without-fence-all',
    defect: 'an absent or malformed lease is taken without fencing every other instance',
    find: /if \(acquired\.fenceAll && !await fenceAllOthers\(deps, keeper\)\)/,
    replace: 'if (false && acquired.fenceAll && !await fenceAllOthers(deps, keeper))',
    lookFirst: ['lease-deleted', 'lease-corrupt'],
  },
  {
    name: 'take-without-compare-and-swap',
    defect:
      "a take overwrites the lease whatever its version (the compare-and-swap's condition always true) " +
      '(replaces renew-without-token, equivalent: docs/DATABASE-TIER.md)',
    find: /ConditionExpression: "fencingToken = :seenToken AND expiresAtMs = :seenExpires",/,
    replace: 'ConditionExpression: ":seenToken = :seenToken AND :seenExpires = :seenExpires",',
    lookFirst: ['sigkill-holder', 'sigstop-holder', 'store-partition'],
  },
  {
    name: 'expiry-by-holder-wall-clock',
    defect: "a standby judges expiry by the holder's wall-clock stamp against its own wall clock",
    find: /unchangedForMs: clock\.monoMs\(\) - seen\.sinceMonoMs,/,
    replace:
      'unchangedForMs: observation.kind === "present" ? clock.wallMs() - (observation.record.expiresAtMs - deps.timing.ttlMs) : clock.monoMs() - seen.sinceMonoMs,',
    lookFirst: ['clock-jump'],
  },
];

/**
 * Mutants shown equivalent under the suite's model (docs/DATABASE-TIER.md, "What it proves, mutant by mutant"):
 * not in the run, kept so that the argument can be checked (`npm run chaos -- --mutant NAME`).
 */
export const EQUIVALENT_MUTANTS: readonly Mutant[] = [
  {
    name: 'self-fence-without-margin',
    defect: 'the self-fence deadline is the lease expiry itself (sentAt + T), without the margin M',
    find: /selfFenceAtMonoMs: clocks\.monoMs \+ timing\.ttlMs - timing\.selfFenceMarginMs/,
    replace: 'selfFenceAtMonoMs: clocks.monoMs + timing.ttlMs',
    lookFirst: ['store-partition', 'store-slow'],
  },
  {
    name: 'renew-without-token',
    defect: 'a renewal is conditioned on the holder id alone, not on its fencing token',
    find: /ConditionExpression: STILL_MINE,/,
    replace:
      'ConditionExpression: operation === "renew" ? "holderId = :holder AND :token = :token AND attribute_not_exists(releasedAtMs)" : STILL_MINE,',
    lookFirst: ['sidecar-kill', 'store-slow', 'lease-deleted'],
  },
];

/** The bundle with the mutant applied; throws unless its pattern matches exactly once. */
export function applyMutant(bundle: string, mutant: Mutant): string {
  const matches = bundle.match(new RegExp(mutant.find.source, 'g'))?.length ?? 0;
  if (matches !== 1)
    throw new Error(
      `mutant ${mutant.name}: its pattern matches the sidecar bundle ${matches} times, not once (the code moved: update test/chaos/mutants.ts)`,
    );
  return bundle.replace(mutant.find, mutant.replace);
}

/** The fault rotation for a mutant: where it should show first, then every other fault. */
export function rotationFor(mutant: Mutant, faults: readonly Fault[]): Fault[] {
  return [...mutant.lookFirst, ...faults.filter((fault) => !mutant.lookFirst.includes(fault))];
}
