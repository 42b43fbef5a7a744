#!/bin/bash
# cloudy-restore: a restore (docs/OPERATIONS.md §7), run as root on the primary's instance through Session Manager: plan first,
# `--yes` to act. The maintenance marker beside PGDATA keeps every sidecar from starting PostgreSQL while the
# data directory is replaced; the old directory stays beside it until the operator deletes it.
set -euo pipefail
USAGE="usage: cloudy-restore --to-time 'YYYY-MM-DD HH:MM:SS[.mmm]+00' | --latest [--yes]"
TARGET=""
YES=no
while [ $# -gt 0 ]; do
  case "$1" in
    --to-time) TARGET=$2; shift 2 ;;
    --latest) TARGET=latest; shift ;;
    --yes) YES=yes; shift ;;
    -h | --help) echo "$USAGE"; exit 0 ;;
    *) echo "cloudy-restore: unknown option $1" >&2; echo "$USAGE" >&2; exit 2 ;;
  esac
done
if [ -z "$TARGET" ]; then echo "$USAGE" >&2; exit 2; fi
# Overridable for the tests only: the sidecar's environment file (userdata/database.sh) and log.
SIDECAR_ENV=$(printenv CLOUDY_SIDECAR_ENV || echo /etc/cloudy/database-sidecar.env)
SIDECAR_LOG=$(printenv CLOUDY_SIDECAR_LOG || echo /var/log/cloudy/sidecar.log)
set -a
# shellcheck source=/dev/null
. "$SIDECAR_ENV"
set +a
EFS=$(dirname "$PGDATA")
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NEW=$EFS/pgdata.restore-$STAMP
OLD=$EFS/pgdata.before-restore-$STAMP
MARKER=$EFS/cloudy-maintenance
pgbr() {
  runuser -u postgres -- pgbackrest "--config=$PGBACKREST_CONFIG" "--stanza=$BACKUP_STANZA" "$@"
}
lease_holder() {
  aws dynamodb get-item --region "$AWS_REGION" --table-name "$LEASE_TABLE" --consistent-read \
    --key '{"lockName":{"S":"database-primary"}}' --output json |
    jq -r --argjson now "$(date +%s%3N)" \
      'if .Item and (.Item.releasedAtMs | not) and ((.Item.expiresAtMs.N | tonumber) > $now) then .Item.holderId.S else "" end'
}
if ! pg_isready -q -h "$PG_SOCKET_DIR" -p "$PG_PORT"; then
  HOLDER=$(lease_holder)
  if [ -n "$HOLDER" ] && [ "$HOLDER" != "$HOLDER_ID" ]; then
    echo "cloudy-restore: $HOLDER is the primary: run this there (npm run db -- status)" >&2
    exit 1
  fi
fi
if [ "$TARGET" = latest ]; then WHAT="the end of the archive"; else WHAT="$TARGET"; fi
echo "Restore of $PGDATA to $WHAT from s3://$BACKUP_BUCKET (stanza $BACKUP_STANZA)"
pgbr info
echo "Plan:"
echo "  1. write $MARKER: no sidecar starts PostgreSQL on $PGDATA while it stands"
echo "  2. stop this instance's sidecar (PostgreSQL stops cleanly, the lease is released)"
echo "  3. pgbackrest restore into $NEW"
echo "  4. move $PGDATA aside to $OLD (kept until you delete it), $NEW into its place"
echo "  5. remove the marker and start the sidecar: a holder starts PostgreSQL, which recovers to the target and promotes"
if [ "$YES" != yes ]; then
  echo "Nothing done: run again with --yes to act."
  exit 0
fi
echo "restore to $WHAT by cloudy-restore on $HOLDER_ID at $STAMP" >"$MARKER"
systemctl stop cloudy-database-sidecar.service
if pg_isready -q -h "$PG_SOCKET_DIR" -p "$PG_PORT"; then
  echo "cloudy-restore: PostgreSQL still answers here after the sidecar stopped; the marker stays" >&2
  exit 1
fi
install -d -o postgres -g postgres -m 0700 "$NEW"
if [ "$TARGET" = latest ]; then
  pgbr "--pg1-path=$NEW" restore
else
  pgbr "--pg1-path=$NEW" --type=time "--target=$TARGET" --target-action=promote restore
fi
mv -T "$PGDATA" "$OLD"
mv -T "$NEW" "$PGDATA"
sync --file-system "$EFS"
rm -f "$MARKER"
systemctl start cloudy-database-sidecar.service
echo "Restored files in place; the old data directory is $OLD."
for _ in $(seq 1 120); do
  HOLDER=$(lease_holder || true)
  if [ -n "$HOLDER" ] && pg_isready -q -h "$PG_SOCKET_DIR" -p "$PG_PORT"; then
    echo "PostgreSQL serves again on $HOLDER_ID. Recovery point:"
    grep -E 'recovery stopping|last completed transaction|selected new timeline' "$SIDECAR_LOG" | tail -n 3 || true
    exit 0
  fi
  if [ -n "$HOLDER" ] && [ "$HOLDER" != "$HOLDER_ID" ]; then
    echo "$HOLDER took the lease: its sidecar stream (grep 'recovery stopping') has the recovery point."
    exit 0
  fi
  sleep 5
done
echo "cloudy-restore: no primary after 10 minutes; see npm run db -- status and the sidecar log" >&2
exit 1
