import { z } from 'zod';
import { booleanFlag, ConfigurationError } from '../../shared/configuration';

/** Why this run happened, as logged in the run's summary line. */
export type Trigger =
  | { kind: 'schedule' }
  | { kind: 'instance-state-change'; instanceId: string; state: string }
  | { kind: 'manual' };

export interface Invocation {
  trigger: Trigger;
  /** Set when the event carries `dryRun`; overrides DRY_RUN. */
  dryRun: boolean | undefined;
}

// EventBridge's envelope (the schedule and EC2's state-change notifications). AWS writes it and may add fields, so
// only what the controller reads is checked; `dryRun` is honoured there too (a test event copied from a sample).
const awsEvent = z.object({
  source: z.string(),
  'detail-type': z.string(),
  detail: z.record(z.string(), z.unknown()).optional(),
  dryRun: booleanFlag.optional(),
});

// A hand-written event (`sls invoke --data '{"dryRun":true}'`, the console's test event): a person typed it, so
// a key the controller does not know is refused, never ignored. `{"dryrun": true}` must not run for real.
const manualEvent = z.strictObject({ dryRun: booleanFlag.optional() });

function problems(error: z.ZodError): string {
  return error.issues
    .map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')} ` +
          '(a hand-written event takes only "dryRun")'
        : `${issue.path.join('.') || 'event'}: ${issue.message}`,
    )
    .join('; ');
}

/**
 * Reads the event: an EventBridge schedule, an EC2 instance state-change notification, or a hand-written event
 * (`{}` or `{"dryRun": true}`). Anything else is a ConfigurationError, before any AWS call. Every trigger runs the
 * same full reconciliation; the state-change event only makes it happen sooner.
 */
export function readInvocation(event: unknown): Invocation {
  const isAwsEvent =
    typeof event === 'object' && event !== null && 'detail-type' in event && 'source' in event;
  if (!isAwsEvent) {
    const parsed = manualEvent.safeParse(event ?? {});
    if (!parsed.success) throw new ConfigurationError(`invalid failover event: ${problems(parsed.error)}`);
    return { trigger: { kind: 'manual' }, dryRun: parsed.data.dryRun };
  }
  const parsed = awsEvent.safeParse(event);
  if (!parsed.success) throw new ConfigurationError(`invalid failover event: ${problems(parsed.error)}`);
  const { dryRun } = parsed.data;
  const detailType = parsed.data['detail-type'];
  if (detailType === 'Scheduled Event') return { trigger: { kind: 'schedule' }, dryRun };
  if (detailType === 'EC2 Instance State-change Notification') {
    const detail = parsed.data.detail ?? {};
    return {
      trigger: {
        kind: 'instance-state-change',
        instanceId: String(detail['instance-id'] ?? 'unknown'),
        state: String(detail.state ?? 'unknown'),
      },
      dryRun,
    };
  }
  throw new ConfigurationError(
    `invalid failover event: detail-type "${detailType}" is not one the controller takes`,
  );
}
