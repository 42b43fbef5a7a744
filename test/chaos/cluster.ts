/** The lease timing the sidecars of a test cluster run with (their LEASE_* and STANDBY_POLL_MS settings). */
export interface ClusterTiming {
  ttlMs: number;
  renewIntervalMs: number;
  selfFenceMarginMs: number;
  clockSkewMs: number;
  standbyPollMs: number;
}

export interface Primary {
  holderId: string;
  port: number;
  fencingToken: number;
}

/** The sidecar's lease request timeout, as ec2/sidecar/main.ts derives it. */
export const leaseRequestTimeoutMs = (timing: ClusterTiming) => Math.max(500, timing.renewIntervalMs);
