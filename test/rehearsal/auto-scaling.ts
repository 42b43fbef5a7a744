// Amazon EC2 Auto Scaling's decisions, pure: what a policy invocation does to the desired capacity, and which
// instance a scale-in removes. The rehearsal (rehearsal.ts) carries them out with real processes.
//
// Sources (AWS documentation, autoscaling/ec2/userguide/):
// - as-scaling-simple-step.html: a step policy applies the step adjustment whose bounds contain (metric −
//   threshold); ChangeInCapacity adds it to the current capacity; the result is clamped to [min, max].
// - ec2-auto-scaling-default-instance-warmup.html: "During scale out, Amazon EC2 Auto Scaling considers instances
//   that are warming up as part of the current capacity of the group […] multiple alarm breaches that fall in the
//   range of the same step adjustment result in a single scaling activity", and warm-up "blocks scale-in activities
//   for dynamic scaling until new instance warmup finishes".
// - Cooldown (the group's default cooldown) applies to simple scaling policies only, not to step or target
//   tracking (ec2-auto-scaling-scaling-cooldowns.html): the rehearsal records it and does not apply it.
// - as-scaling-target-tracking.html: target tracking sets the capacity in proportion to metric / target; it scales
//   out as fast as it can and in more gradually (the low alarm's 15 periods, cloudwatch.ts).
// - ec2-auto-scaling-termination-policies.html (Default): the Availability Zone with the most instances first,
//   then the oldest launch template (all the same here), then the instance closest to the next billing hour; with
//   per-second billing the rehearsal takes the oldest instance of that zone.
import type { StepPolicySpec } from './stage-template';

export interface Capacity {
  min: number;
  max: number;
  desired: number;
  /** Instances counted as capacity that have finished warming up. */
  warm: number;
  /** Instances still inside their warm-up. */
  warming: number;
}

function clamp(capacity: Capacity, value: number): number {
  return Math.min(capacity.max, Math.max(capacity.min, value));
}

/** The step adjustment for a breach of `metric` over an alarm's `threshold` (null: no step covers it). */
export function stepAdjustment(policy: StepPolicySpec, metric: number, threshold: number): number | null {
  const difference = metric - threshold;
  for (const step of policy.steps) {
    const aboveLower = step.lower === null || difference >= step.lower;
    const belowUpper = step.upper === null || difference < step.upper;
    if (aboveLower && belowUpper) return step.adjustment;
  }
  return null;
}

/** The new desired capacity after a step policy's adjustment, or null when it changes nothing. */
export function applyStep(
  capacity: Capacity,
  adjustment: number,
): { desired: number; reason: string } | null {
  if (adjustment > 0) {
    // Warming instances count as capacity: the same step again while they warm adds nothing.
    const target = clamp(capacity, capacity.warm + capacity.warming + adjustment);
    const fromWarm = clamp(capacity, capacity.warm + adjustment);
    const desired = capacity.warming > 0 ? Math.max(capacity.desired, fromWarm) : target;
    if (desired <= capacity.desired) return null;
    return { desired, reason: `step +${adjustment}` };
  }
  if (capacity.warming > 0) return null;
  const desired = clamp(capacity, capacity.desired + adjustment);
  if (desired >= capacity.desired) return null;
  return { desired, reason: `step ${adjustment}` };
}

/**
 * Target tracking: the capacity that brings `metric` back to `target`, in proportion. `metric` is the group's
 * value for the period (average CPU, or requests per target). Scale-out counts warming instances as capacity;
 * scale-in waits for warm-up, and removes no more than the proportion says.
 */
export function targetTrackingDesired(
  capacity: Capacity,
  metric: number,
  target: number,
  direction: 'out' | 'in',
): { desired: number; reason: string } | null {
  const base = Math.max(1, capacity.warm);
  const proportional = Math.ceil((base * metric) / target);
  if (direction === 'out') {
    const desired = clamp(capacity, Math.max(proportional, capacity.desired));
    if (desired <= capacity.desired) return null;
    return { desired, reason: `target tracking: ${metric.toFixed(1)} / ${target} × ${base}` };
  }
  if (capacity.warming > 0) return null;
  const desired = clamp(capacity, proportional);
  if (desired >= capacity.desired) return null;
  return { desired, reason: `target tracking: ${metric.toFixed(1)} / ${target} × ${base}` };
}

export interface Candidate {
  id: string;
  zone: string;
  launchedAt: number;
}

/** The instance a scale-in terminates under the Default termination policy. */
export function chooseForTermination(candidates: Candidate[]): Candidate | undefined {
  const byZone = new Map<string, Candidate[]>();
  for (const c of candidates) byZone.set(c.zone, [...(byZone.get(c.zone) ?? []), c]);
  const zone = [...byZone.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0];
  return zone?.[1].sort((a, b) => a.launchedAt - b.launchedAt)[0];
}

/** New instances go to the zone with the fewest (the group spans two subnets, one per zone). */
export function chooseZone(zones: string[], running: Candidate[]): string {
  const count = (zone: string) => running.filter((c) => c.zone === zone).length;
  return [...zones].sort((a, b) => count(a) - count(b) || a.localeCompare(b))[0] ?? 'a';
}
