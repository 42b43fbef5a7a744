/**
 * EC2 reports states and status checks as open-ended strings (route states: shared/vip-routes.ts). Each is mapped through one total function into
 * a small union that includes `unknown`; the controller never acts on `unknown` (a new or unexpected value
 * must not be read as "dead" nor as "healthy").
 */

const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number] | 'unknown';

const STATUS_CHECKS = ['ok', 'impaired', 'initializing', 'insufficient-data', 'not-applicable'] as const;
export type StatusCheck = (typeof STATUS_CHECKS)[number] | 'unknown';

/**
 * What an instance is worth as a route target:
 * - healthy: running, instance and system checks ok (a candidate);
 * - starting: pending, or running with checks still initializing;
 * - down: stopping, stopped, shutting-down, terminated;
 * - impaired: running with a failed check;
 * - unknown: anything not recognised, or checks without a verdict (insufficient-data, missing).
 */
export type Health = 'healthy' | 'starting' | 'down' | 'impaired' | 'unknown';

function oneOf<T extends string>(values: readonly T[], raw: string | undefined): T | 'unknown' {
  return values.find((value) => value === raw) ?? 'unknown';
}

export function toInstanceState(raw: string | undefined): InstanceState {
  return oneOf(INSTANCE_STATES, raw);
}

export function toStatusCheck(raw: string | undefined): StatusCheck {
  return oneOf(STATUS_CHECKS, raw);
}

export function instanceHealth(
  state: InstanceState,
  instanceStatus: StatusCheck,
  systemStatus: StatusCheck,
): Health {
  switch (state) {
    case 'unknown':
      return 'unknown';
    case 'pending':
      return 'starting';
    case 'stopping':
    case 'stopped':
    case 'shutting-down':
    case 'terminated':
      return 'down';
    case 'running': {
      const checks = [instanceStatus, systemStatus];
      if (checks.includes('impaired')) return 'impaired';
      if (checks.every((check) => check === 'ok')) return 'healthy';
      if (checks.every((check) => check === 'ok' || check === 'initializing')) return 'starting';
      return 'unknown';
    }
  }
}
