/**
 * Continuous WAL archiving and base backups with pgBackRest (docs/DATABASE-TIER.md, "Backups"). This module is
 * the one home of the tool's configuration and of the archive command: the sidecar writes the configuration file
 * at start and passes the archive settings on PostgreSQL's command line; the backup timer, `db restore` and the
 * restore drill use the same file.
 */

/** Where the repository is: the stage's S3 bucket on AWS, a folder in the tests. */
export type BackupRepository =
  | { type: 's3'; bucket: string; region: string; path: string }
  | { type: 'posix'; path: string };

export interface BackupSettings {
  /** pgBackRest's name for this cluster's backups and archive. */
  stanza: string;
  repository: BackupRepository;
  /** Full backups (and the differentials and WAL that depend on them) are kept this many days. */
  retentionDays: number;
  /** The data directory (on the shared file system). */
  pgdata: string;
  socketDir: string;
  port: number;
  /** The superuser, reached over the local socket by peer authentication. */
  superuser: string;
  /** Lock and log folders of pgBackRest on this host. */
  lockPath: string;
  logPath: string;
}

/** The recovery-point objective: a WAL segment is closed and archived at least this often while writes happen. */
export const ARCHIVE_TIMEOUT_S = 60;

/** Paths and names go into a configuration file and a shell command: nothing that needs quoting. */
const SAFE = /^[A-Za-z0-9_./:-]+$/;

function safe(what: string, value: string): string {
  if (!SAFE.test(value))
    throw new Error(`${what} ${JSON.stringify(value)} has characters outside [A-Za-z0-9_./:-]`);
  return value;
}

/** pgBackRest's configuration file (INI), for the settings above. */
export function pgbackrestConf(settings: BackupSettings): string {
  const { repository: repo } = settings;
  const repoLines =
    repo.type === 's3'
      ? [
          'repo1-type=s3',
          `repo1-s3-bucket=${safe('bucket', repo.bucket)}`,
          `repo1-s3-region=${safe('region', repo.region)}`,
          `repo1-s3-endpoint=s3.${safe('region', repo.region)}.amazonaws.com`,
          // The instance role's credentials, from the instance metadata: no key on disk.
          'repo1-s3-key-type=auto',
          `repo1-path=${safe('repository path', repo.path)}`,
        ]
      : ['repo1-type=posix', `repo1-path=${safe('repository path', repo.path)}`];
  return [
    '# Written by the database sidecar (ec2/sidecar/postgres/wal-archive.ts) at every start.',
    '[global]',
    ...repoLines,
    // Time-based: a full backup is expired once a newer full one is older than this; the WAL it needs goes with it.
    'repo1-retention-full-type=time',
    `repo1-retention-full=${settings.retentionDays}`,
    // Small files (most of a cluster) are bundled into larger objects: fewer S3 requests per backup.
    'repo1-bundle=y',
    'compress-type=lz4',
    // The backup starts with an immediate checkpoint instead of waiting for the next scheduled one.
    'start-fast=y',
    'process-max=2',
    'log-level-console=warn',
    'log-level-stderr=warn',
    'log-level-file=off',
    `log-path=${safe('log path', settings.logPath)}`,
    `lock-path=${safe('lock path', settings.lockPath)}`,
    '',
    `[${safe('stanza', settings.stanza)}]`,
    `pg1-path=${safe('PGDATA', settings.pgdata)}`,
    `pg1-socket-path=${safe('socket folder', settings.socketDir)}`,
    `pg1-port=${settings.port}`,
    `pg1-user=${safe('superuser', settings.superuser)}`,
    '',
  ].join('\n');
}

export interface ArchiveCommandSettings {
  stanza: string;
  /** The pgBackRest executable. */
  pgbackrest: string;
  /** Its configuration file (pgbackrestConf). */
  configFile: string;
  /** The fencing-token file on the shared storage (data-directory.ts writes it when a holder claims PGDATA). */
  tokenFile: string;
  /** Off: archive without looking at the token (only to show what the guard catches). */
  guard?: boolean;
}

/**
 * PostgreSQL's archive_command for a server started under `fencingToken`. The lease's generation is the guard:
 * a segment is pushed only while the storage still records this server's token. A server whose holder has been
 * replaced (a later holder claimed the directory: a frozen primary that resumed before its fence, a copy of the
 * directory started elsewhere) refuses to archive, so the archive only ever receives the current holder's
 * history. pgBackRest adds its own check: a segment already archived with other contents is refused.
 */
export function archiveCommand(settings: ArchiveCommandSettings, fencingToken: number): string {
  if (!Number.isSafeInteger(fencingToken) || fencingToken < 1)
    throw new Error(`fencing token ${fencingToken} is not a positive integer`);
  const push = `exec ${safe('pgbackrest', settings.pgbackrest)} --config=${safe('config', settings.configFile)} --stanza=${safe('stanza', settings.stanza)} archive-push "%p"`;
  if (settings.guard === false) return push;
  const tokenFile = safe('token file', settings.tokenFile);
  // %f is PostgreSQL's placeholder for the segment's name; the message lands in PostgreSQL's log.
  return (
    `t=$(cat ${tokenFile} 2>/dev/null); if [ "$t" != ${fencingToken} ]; then ` +
    `echo "cloudy: not archiving %f: the data directory is claimed by fencing token $t, this server runs under ${fencingToken}" >&2; exit 1; fi; ` +
    push
  );
}

/** PostgreSQL command-line settings that turn archiving on for a server started under `fencingToken`. */
export function archiveFlags(settings: ArchiveCommandSettings, fencingToken: number): string[] {
  return [
    '-c',
    'archive_mode=on',
    '-c',
    `archive_command=${archiveCommand(settings, fencingToken)}`,
    '-c',
    `archive_timeout=${ARCHIVE_TIMEOUT_S}`,
    // pgBackRest needs at least replica; the command line keeps ALTER SYSTEM from lowering it.
    '-c',
    'wal_level=replica',
  ];
}

/**
 * A moment as pgBackRest's `--target` and PostgreSQL's recovery_target_time take it: `YYYY-MM-DD HH:MM:SS.mmm+00`
 * (neither reads ISO 8601's `T…Z`).
 */
export function recoveryTargetTime(moment: Date): string {
  return `${moment.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}
