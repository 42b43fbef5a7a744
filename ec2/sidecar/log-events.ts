/**
 * Every `event` the sidecar logs, in the order a run meets them. Operators search the log group for these names,
 * so docs/DATABASE-TIER.md lists them and a unit test keeps that list equal to this one.
 */
export const SIDECAR_EVENTS = [
  'starting',
  'configuration-error',
  'metrics-write-failed',
  'standby',
  'standby-heartbeat-failed',
  'standby-step-failed',
  'acquire-race-lost',
  'fencing',
  'fencing-all',
  'fence-requested',
  'fence-not-needed',
  'fence-all-failed',
  'fenced',
  'lease-acquired',
  'own-postgres-survives',
  'initdb',
  'postgres-spawn-failed',
  'postgres-started',
  'postgres-ready',
  'route-moved',
  'promote-failed',
  'promotion-failed',
  'start-failed',
  'database-missing',
  'primary',
  'postgres-probe-failed',
  'postgres-unhealthy',
  'lease-renew-failed',
  'lease-lost',
  'stale-holder',
  'maintenance',
  'self-fenced',
  'postgres-exited',
  'postgres-unkillable',
  'sigterm',
  'handover-requested',
  'postgres-stopped',
  'sync-failed',
  'lease-released',
  'lease-release-failed',
  'exiting',
  'crashed',
] as const;
type SidecarEvent = (typeof SIDECAR_EVENTS)[number];

/** A log entry names one event; PostgreSQL's own lines, passed through, are the one other kind. */
type SidecarLogEntry = { event: SidecarEvent; [field: string]: unknown } | { postgres: string };
type LogMethod = (entry: SidecarLogEntry, message?: string) => void;

/** The sidecar's logger: pino's (any `Logger` fits), narrowed so that every entry names a known event. */
export interface SidecarLogger {
  fatal: LogMethod;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
}
