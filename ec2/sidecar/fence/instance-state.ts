/** The only distinction fencing needs. `unknown` is never treated as stopped. */
export type FenceState = 'stopped' | 'running' | 'unknown';

/**
 * Total mapping of EC2 instance states to what fencing may rely on. "No such instance" is not a state: the
 * fencer decides on it (ec2-fencer.ts), since EC2 also says so of instances it does not show yet.
 */
export function fenceStateOf(ec2State: string | undefined): FenceState {
  switch (ec2State) {
    case 'stopped':
    case 'terminated':
      return 'stopped';
    // Still executing, or may still be: a stopping or shutting-down instance can write until it is down.
    case 'pending':
    case 'running':
    case 'stopping':
    case 'shutting-down':
      return 'running';
    default:
      return 'unknown';
  }
}
