#!/bin/bash
# cloudy-backup full|diff|watch: base backups and the archive watch (docs/DATABASE-TIER.md, "Backups"),
# run as postgres by the timers userdata/database.sh writes on every database instance, with the sidecar's
# environment file;
# the job acts only where the primary runs: PostgreSQL answers on this host's own socket only on the lease
# holder's instance. `full` and `diff` take a base backup (pgBackRest's own protocol: pg_backup_start/stop, the
# WAL to make it consistent archived before it counts), then `check` that archiving works, and report success;
# the weekly full one is also verified (every file of the repository against its checksum). `watch` reports,
# every minute, how long the oldest closed WAL segment has waited to be archived (0: none waits), and creates
# the stanza once per boot (the first primary of a new stage; idempotent).
set -euo pipefail
MODE=$1
pgbr() {
  pgbackrest "--config=$PGBACKREST_CONFIG" "--stanza=$BACKUP_STANZA" "$@"
}
emit() {
  printf '{"_aws":{"Timestamp":%s,"CloudWatchMetrics":[{"Namespace":"%s","Dimensions":[[]],"Metrics":[{"Name":"%s","Unit":"%s"}]}]},"%s":%s}\n' \
    "$(date +%s%3N)" "$METRICS_NAMESPACE" "$1" "$3" "$1" "$2" >>"$BACKUP_METRICS_FILE"
}
if ! pg_isready -q -h "$PG_SOCKET_DIR" -p "$PG_PORT"; then
  exit 0
fi
case "$MODE" in
  watch)
    if [ ! -e "$PG_SOCKET_DIR/cloudy-stanza-ok" ]; then
      pgbr stanza-create && touch "$PG_SOCKET_DIR/cloudy-stanza-ok"
    fi
    OLDEST=$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' -printf '%Ts\n' | sort -n | head -n 1)
    AGE=0
    if [ -n "$OLDEST" ]; then AGE=$(($(date +%s) - OLDEST)); fi
    emit WalArchiveLagSeconds "$AGE" Seconds
    ;;
  full | diff)
    pgbr stanza-create
    pgbr "--type=$MODE" backup
    pgbr check
    if [ "$MODE" = full ]; then pgbr verify; fi
    emit BaseBackupSucceeded 1 Count
    echo "cloudy-backup: $MODE backup done"
    ;;
  *)
    echo "usage: cloudy-backup full|diff|watch" >&2
    exit 2
    ;;
esac
