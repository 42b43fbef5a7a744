/** The only distinction fencing needs. `unknown` is never treated as stopped. */
export type FenceState = 'stopped' | 'running' | 'unknown';

/** Total mapping of EC2 instance states (and "no such instance") to what fencing may rely on. */
export function fenceStateOf(ec2State: string | undefined): FenceState {
  switch (ec2State) {
    case 'stopped':
    case 'terminated':
    case 'not-found':
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
