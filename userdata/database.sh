#!/bin/bash
# Database instance boot (Amazon Linux 2023, from the project's AMI: Node.js, the bundle at /opt/cloudy/dist,
# PostgreSQL, the EFS mount helper, jq and the CloudWatch agent are baked in by `npm run bake-ami`; nothing is
# installed at boot, so a replacement instance does not depend on the NAT for packages). Starts shipping the
# logs to CloudWatch Logs, mounts the shared EFS file system with TLS at the parent of PGDATA, reads the
# database password from the cross-account secret, writes and starts the database sidecar's unit, then signals
# CloudFormation once the lease names a primary that serves (the tier's readiness gate).
# The sidecar, not systemd, starts PostgreSQL, and only while it holds the lease (docs/DATABASE-TIER.md); the
# distribution's postgresql unit is masked so that nothing else can start a server on the shared directory.
# The first instance to boot on an empty file system also creates the server's TLS certificate beside PGDATA
# (kept with the data) and every instance publishes its CA to SSM, where the web tier and the api function
# read it to verify the server.
# Runs after a prelude (resources/database-instances.yml) exporting STAGE, AWS_REGION, STACK_NAME, LEASE_TABLE,
# EFS_FILE_SYSTEM_ID, VIRTUAL_IP, ROUTE_TABLE_IDS, DB_SECRET_ROLE_ARN, DB_SECRET_ID, DB_SECRET_REGION,
# SIGNAL_RESOURCE, LOG_GROUP, DB_CA_PARAMETER, DB_MAX_CONNECTIONS, METRICS_NAMESPACE, BACKUP_BUCKET and
# BACKUP_RETENTION_DAYS.
# Idempotent: a second run rewrites the same files and leaves a running sidecar (and its PostgreSQL) alone.
# Variables are written $NAME, never with braces: osls reads brace syntax in this file as its own variables.
set -euo pipefail

# Empty on an instance; tests point CLOUDY_ROOT at a scratch folder and put stub commands first on PATH.
ROOT=$(printenv CLOUDY_ROOT || true)
APP_DIR=/opt/cloudy/dist
NODE=/usr/bin/node-24
CFN_SIGNAL=$ROOT/opt/aws/bin/cfn-signal
AGENT_CTL=$ROOT/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
AGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/cloudy.json
# The sidecar writes here (not to the journal) so that the CloudWatch agent, which reads files, ships it.
LOG_DIR=/var/log/cloudy
# The sidecar's metrics as CloudWatch EMF lines, in a stream of their own: the agent switches a stream whose
# lines carry "CloudWatchMetrics" to EMF mode, in which it drops lines when its queue is full, which the
# sidecar's own log must not risk. Written by the sidecar (postgres), so the file is created for it.
METRICS_FILE=$LOG_DIR/sidecar-metrics.log
# The backup job's metrics (archive lag, base backup success), EMF too, and its log.
BACKUP_METRICS_FILE=$LOG_DIR/backup-metrics.log
BACKUP_SCRIPT=$APP_DIR/backup/cloudy-backup.sh
# pgBackRest's configuration, which the sidecar writes at every start (ec2/sidecar/postgres/wal-archive.ts).
PGBACKREST_DIR=/var/lib/cloudy/pgbackrest
CONFIG_DIR=$ROOT/etc/cloudy
UNIT_DIR=$ROOT/etc/systemd/system
FSTAB=$ROOT/etc/fstab
# PGDATA lives one level below the mount point, so that initdb can build a new cluster beside it and move it
# into place in one rename (the sidecar does that under the lease).
EFS_MOUNT=/var/lib/cloudy/efs
PGDATA=$EFS_MOUNT/pgdata
TLS_DIR=$EFS_MOUNT/tls
# Long-lived on purpose: the CA's key is deleted once it has signed the server's certificate (nobody can mint
# another), so renewing means a new CA (docs/DATABASE-TIER.md, TLS).
TLS_DAYS=3650
PASSWORD_FILE=/etc/cloudy/db-password
UNIT=cloudy-database-sidecar.service
IMDS=http://169.254.169.254/latest
# The lease item's name: unset or empty gives the sidecar's default (shared/lease-table/location.ts).
LEASE_NAME=$(printenv LEASE_NAME || true)
# The bounds below add up to the tier's CreationPolicy timeout (resources/database-instances.yml, docs/DEPLOY.md):
# the mount target's DNS name may take minutes to resolve in a fresh VPC; STS and Secrets Manager are reached
# through the NAT, which may still be booting; the first primary runs initdb on EFS before it serves.
MOUNT_ATTEMPTS=$(printenv MOUNT_ATTEMPTS || echo 30)
AWS_ATTEMPTS=$(printenv AWS_ATTEMPTS || echo 30)
READY_ATTEMPTS=$(printenv READY_ATTEMPTS || echo 60)
RETRY_SECONDS=$(printenv RETRY_SECONDS || echo 10)

log() {
  echo "database.sh: $*"
}

for NAME in STAGE AWS_REGION STACK_NAME LEASE_TABLE EFS_FILE_SYSTEM_ID VIRTUAL_IP ROUTE_TABLE_IDS \
  DB_SECRET_ROLE_ARN DB_SECRET_ID DB_SECRET_REGION SIGNAL_RESOURCE LOG_GROUP DB_CA_PARAMETER \
  DB_MAX_CONNECTIONS METRICS_NAMESPACE BACKUP_BUCKET BACKUP_RETENTION_DAYS; do
  if ! printenv "$NAME" >/dev/null; then
    echo "database.sh: $NAME is not set (the user data prelude exports it)" >&2
    exit 1
  fi
done

SIGNALLED=no
signal_cloudformation() {
  SIGNALLED=yes
  log "signalling $SIGNAL_RESOURCE in $STACK_NAME: exit code $1 ($2)"
  "$CFN_SIGNAL" --exit-code "$1" --reason "$2" --stack "$STACK_NAME" --resource "$SIGNAL_RESOURCE" \
    --region "$AWS_REGION" || log "cfn-signal failed (the stack may no longer wait for this instance)"
}

# Any failure below ends the script through this trap: the stack hears of it at once instead of timing out.
on_exit() {
  STATUS=$?
  if [ "$STATUS" -ne 0 ] && [ "$SIGNALLED" = no ] && [ "$STOPPING" = no ]; then
    signal_cloudformation 1 "database.sh failed with status $STATUS, see the log group $LOG_GROUP"
  fi
}
trap on_exit EXIT
# systemd stops cloud-init with SIGTERM when the instance shuts down (Auto Scaling replaced it, the stack
# rolled back): the instance was not found broken, so it must not fail the stack with a failure signal.
STOPPING=no
on_term() {
  STOPPING=yes
  log "stopped by SIGTERM (the instance is shutting down): no signal to CloudFormation"
  exit 143
}
trap on_term TERM

# `retry WHAT COMMAND...`: runs the command until it succeeds, at most AWS_ATTEMPTS times, RETRY_SECONDS apart.
retry() {
  WHAT=$1
  shift
  ATTEMPT=1
  until "$@"; do
    if [ "$ATTEMPT" -ge "$AWS_ATTEMPTS" ]; then
      echo "database.sh: could not $WHAT after $ATTEMPT attempts" >&2
      return 1
    fi
    ATTEMPT=$((ATTEMPT + 1))
    sleep "$RETRY_SECONDS"
  done
}

# Replaces a file in one step with the text on stdin, so that a second run leaves the same content.
write_file() {
  TARGET=$1
  MODE=$2
  TEMPORARY=$(mktemp "$TARGET.XXXXXX")
  cat >"$TEMPORARY"
  chmod "$MODE" "$TEMPORARY"
  mv -f "$TEMPORARY" "$TARGET"
}

# The AMI contract (docs/DEPLOY.md): what npm run bake-ami installs.
for FILE in $NODE $APP_DIR/sidecar/main.mjs $APP_DIR/backup/cloudy-backup.sh /usr/bin/postgres /usr/bin/initdb /usr/bin/pg_isready \
  /usr/bin/pgbackrest /usr/sbin/mount.efs /usr/bin/jq /opt/aws/bin/cfn-signal /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl; do
  if [ ! -e "$ROOT$FILE" ]; then
    echo "database.sh: $FILE is missing: this AMI was not made by npm run bake-ami" >&2
    exit 1
  fi
done

# First, so that whatever goes wrong below is still readable after the instance is gone. One stream per
# instance and file; a failure here costs the shipping, not the boot.
mkdir -p "$ROOT$LOG_DIR" "$ROOT$(dirname "$AGENT_CONFIG")" "$ROOT/etc/logrotate.d"
chmod 0750 "$ROOT$LOG_DIR"
write_file "$ROOT$AGENT_CONFIG" 0644 <<JSON
{
  "agent": { "run_as_user": "root" },
  "logs": {
    "force_flush_interval": 5,
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "/var/log/cloud-init-output.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/cloud-init-output" },
          { "file_path": "$LOG_DIR/sidecar.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/sidecar" },
          { "file_path": "$METRICS_FILE", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/sidecar-metrics" },
          { "file_path": "$LOG_DIR/backup.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/backup" },
          { "file_path": "$BACKUP_METRICS_FILE", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/backup-metrics" }
        ]
      }
    }
  }
}
JSON
"$AGENT_CTL" -a fetch-config -m ec2 -s -c "file:$AGENT_CONFIG" ||
  log "the CloudWatch agent did not start: the logs stay on this instance"
# The agent follows a file across copytruncate.
write_file "$ROOT/etc/logrotate.d/cloudy" 0644 <<ROTATE
$LOG_DIR/*.log {
  daily
  rotate 7
  maxsize 100M
  missingok
  notifempty
  compress
  delaycompress
  copytruncate
}
ROTATE

for FILE in $METRICS_FILE $BACKUP_METRICS_FILE $LOG_DIR/backup.log; do
  touch "$ROOT$FILE"
  chown postgres:postgres "$ROOT$FILE"
  chmod 0640 "$ROOT$FILE"
done
mkdir -p "$ROOT$PGBACKREST_DIR"
chown postgres:postgres "$ROOT$PGBACKREST_DIR"

# Masked, not just disabled: not even a dependency or an operator's `systemctl start` can run a second server.
systemctl disable --now postgresql.service || true
systemctl mask postgresql.service

log "mounting $EFS_FILE_SYSTEM_ID at $EFS_MOUNT (TLS)"
mkdir -p "$ROOT$EFS_MOUNT" "$CONFIG_DIR" "$UNIT_DIR"
# No NFS cache may outlive a takeover (docs/DATABASE-TIER.md, "The shared file system"): lookupcache=positive
# never trusts a cached "no such file" (a WAL segment a later primary wrote), acdirmin/acdirmax=0 revalidate
# every directory with the server on each lookup and listing; file contents and sizes are revalidated on
# every open (NFS close-to-open), and each new server opens its files afresh.
FSTAB_LINE="$EFS_FILE_SYSTEM_ID:/ $EFS_MOUNT efs _netdev,tls,iam,noresvport,lookupcache=positive,acdirmin=0,acdirmax=0 0 0"
touch "$FSTAB"
if ! grep -qxF "$FSTAB_LINE" "$FSTAB"; then
  echo "$FSTAB_LINE" >>"$FSTAB"
fi
ATTEMPT=1
until mountpoint -q "$ROOT$EFS_MOUNT" || mount "$ROOT$EFS_MOUNT"; do
  if [ "$ATTEMPT" -ge "$MOUNT_ATTEMPTS" ]; then
    echo "database.sh: could not mount $EFS_FILE_SYSTEM_ID after $ATTEMPT attempts" >&2
    exit 1
  fi
  ATTEMPT=$((ATTEMPT + 1))
  sleep "$RETRY_SECONDS"
done
# PostgreSQL requires its folders to belong to it and be private; the sidecar runs as postgres too.
chown postgres:postgres "$ROOT$EFS_MOUNT"
chmod 0700 "$ROOT$EFS_MOUNT"

# An image whose PostgreSQL cannot open this PGDATA (another major version) must not join the tier: as a standby
# it would look ready and fail only when promoted, after an AMI roll-out has deleted the old group. Refused here,
# before its sidecar starts, it signals failure, and CloudFormation deletes the new group while the old one keeps
# serving (docs/DEPLOY.md, "Rolling out a new AMI").
IMAGE_MAJOR=$("$ROOT/usr/bin/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([0-9][0-9]*\).*/\1/p')
[ -n "$IMAGE_MAJOR" ] || IMAGE_MAJOR=unknown
if [ -f "$ROOT$PGDATA/PG_VERSION" ]; then
  DATA_MAJOR=$(cat "$ROOT$PGDATA/PG_VERSION")
  if [ "$DATA_MAJOR" != "$IMAGE_MAJOR" ]; then
    echo "database.sh: PGDATA is PostgreSQL $DATA_MAJOR and this image runs PostgreSQL $IMAGE_MAJOR: not joining the tier" >&2
    exit 1
  fi
fi

# A CA (P-256) signs a server certificate naming the virtual IP, the address clients dial (verify-full). Made in
# a private folder and renamed into place in one step: of two instances booting at once, one rename wins and
# the other instance uses the winner's files.
ensure_tls() {
  if [ -e "$ROOT$TLS_DIR/server.crt" ]; then
    return
  fi
  log "creating the database TLS certificate for $VIRTUAL_IP in $TLS_DIR"
  WORK=$(mktemp -d "$ROOT$EFS_MOUNT/tls.XXXXXX")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$TLS_DAYS" \
    -subj "/CN=cloudy-$STAGE database CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$WORK/ca.key" -out "$WORK/ca.crt"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$VIRTUAL_IP" \
    -keyout "$WORK/server.key" -out "$WORK/server.csr"
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
    "$VIRTUAL_IP" >"$WORK/server.ext"
  openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -days "$TLS_DAYS" \
    -extfile "$WORK/server.ext" -out "$WORK/server.crt"
  rm -f "$WORK/ca.key" "$WORK/server.csr" "$WORK/server.ext"
  # PostgreSQL refuses a key that others can read.
  chmod 0600 "$WORK/server.key"
  chmod 0644 "$WORK/server.crt" "$WORK/ca.crt"
  chmod 0755 "$WORK"
  chown -R postgres:postgres "$WORK"
  if ! mv -T "$WORK" "$ROOT$TLS_DIR" 2>/dev/null; then
    log "another instance created $TLS_DIR first: using its certificate"
    rm -rf "$WORK"
  fi
}
ensure_tls
# Every boot: the parameter follows the CA kept with the data (after a restore, too).
aws ssm put-parameter --region "$AWS_REGION" --name "$DB_CA_PARAMETER" --type String --overwrite \
  --value "file://$ROOT$TLS_DIR/ca.crt" >/dev/null

log "reading this instance's id (IMDSv2)"
IMDS_TOKEN=$(curl -fsS --retry 5 -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
INSTANCE_ID=$(curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/meta-data/instance-id")

log "reading the database credentials from $DB_SECRET_ID in $DB_SECRET_REGION"
CREDENTIALS=$(retry "assume the secret reader role" aws sts assume-role --region "$AWS_REGION" --role-arn "$DB_SECRET_ROLE_ARN" \
  --role-session-name "cloudy-$STAGE-db-$INSTANCE_ID" --query Credentials --output json)
SECRET=$(retry "read the secret" env AWS_ACCESS_KEY_ID="$(jq -r .AccessKeyId <<<"$CREDENTIALS")" \
  AWS_SECRET_ACCESS_KEY="$(jq -r .SecretAccessKey <<<"$CREDENTIALS")" \
  AWS_SESSION_TOKEN="$(jq -r .SessionToken <<<"$CREDENTIALS")" \
  aws secretsmanager get-secret-value --region "$DB_SECRET_REGION" --secret-id "$DB_SECRET_ID" \
  --query SecretString --output text)
# The secret names the application's role, never the superuser: `postgres` exists only for local peer login.
DB_USERNAME=$(jq -er .username <<<"$SECRET")
DB_DATABASE=$(jq -er '.dbname // .database // "postgres"' <<<"$SECRET")
if [ "$DB_USERNAME" = postgres ]; then
  echo "database.sh: the secret's username is postgres; it must name the application's own role" >&2
  exit 1
fi
# Read on the first initialisation of the shared data directory only (the application role's password),
# which the sidecar runs under the lease: later boots never change the password of an existing database.
jq -er .password <<<"$SECRET" | write_file "$ROOT$PASSWORD_FILE" 0600
chown postgres:postgres "$ROOT$PASSWORD_FILE"

# systemd reads the environment file as root before it drops to the service user.
write_file "$CONFIG_DIR/database-sidecar.env" 0600 <<ENV
NODE_OPTIONS=--enable-source-maps
HOLDER_ID=$INSTANCE_ID
STAGE=$STAGE
AWS_REGION=$AWS_REGION
LEASE_TABLE=$LEASE_TABLE
LEASE_NAME=$LEASE_NAME
VIRTUAL_IP=$VIRTUAL_IP
ROUTE_TABLE_IDS=$ROUTE_TABLE_IDS
PGDATA=$PGDATA
POSTGRES_BIN_DIR=/usr/bin
PG_PORT=5432
PG_LISTEN_ADDRESSES=*
PG_SOCKET_DIR=/run/postgresql
DB_SUPERUSER=postgres
DB_APP_USER=$DB_USERNAME
DB_APP_DATABASE=$DB_DATABASE
DB_PASSWORD_FILE=$PASSWORD_FILE
PG_SSL_CERT_FILE=$TLS_DIR/server.crt
PG_SSL_KEY_FILE=$TLS_DIR/server.key
PG_MAX_CONNECTIONS=$DB_MAX_CONNECTIONS
METRICS_FILE=$METRICS_FILE
METRICS_NAMESPACE=$METRICS_NAMESPACE
BACKUP_BUCKET=$BACKUP_BUCKET
BACKUP_STANZA=cloudy
BACKUP_RETENTION_DAYS=$BACKUP_RETENTION_DAYS
PGBACKREST_CONFIG=$PGBACKREST_DIR/pgbackrest.conf
BACKUP_METRICS_FILE=$BACKUP_METRICS_FILE
ENV

# Base backups and the archive watch: the backup job of the bundle (ec2/backup/cloudy-backup.sh), from timers
# on every database instance; it acts only where the primary runs (docs/DATABASE-TIER.md, "Backups").
write_file "$UNIT_DIR/cloudy-backup@.service" 0644 <<UNIT
[Unit]
Description=cloudy database backup job (%i)
RequiresMountsFor=$EFS_MOUNT

[Service]
Type=oneshot
User=postgres
Group=postgres
EnvironmentFile=/etc/cloudy/database-sidecar.env
ExecStart=$BACKUP_SCRIPT %i
Nice=10
StandardOutput=append:$LOG_DIR/backup.log
StandardError=inherit
UNIT
# Weekly full, daily differential (03:00 UTC); the first diff after a boot comes 5 minutes in, so a new stage has
# a base backup at once (pgBackRest turns a differential with no full before it into a full).
write_file "$UNIT_DIR/cloudy-backup-full.timer" 0644 <<UNIT
[Timer]
OnCalendar=Sun *-*-* 03:00:00 UTC
Unit=cloudy-backup@full.service

[Install]
WantedBy=timers.target
UNIT
write_file "$UNIT_DIR/cloudy-backup-diff.timer" 0644 <<UNIT
[Timer]
OnCalendar=Mon..Sat *-*-* 03:00:00 UTC
OnBootSec=5min
Unit=cloudy-backup@diff.service

[Install]
WantedBy=timers.target
UNIT
write_file "$UNIT_DIR/cloudy-backup-watch.timer" 0644 <<UNIT
[Timer]
OnBootSec=1min
OnUnitActiveSec=1min
AccuracySec=5s
Unit=cloudy-backup@watch.service

[Install]
WantedBy=timers.target
UNIT

# The virtual IP goes on lo (ExecStartPre, so it is back after every reboot): the VPC route decides which
# instance receives traffic for it; on lo every instance accepts that traffic on whatever its interface is
# called, without claiming the address on the subnet. `replace` makes it idempotent.
# KillMode=mixed: SIGTERM (scale-in, reboot) goes to the sidecar only, which stops PostgreSQL cleanly within
# 30 s and releases the lease; what is left after TimeoutStopSec is killed with the whole unit. systemd starts
# the unit again only once all of its processes are gone, so a restarted sidecar never meets an old server.
write_file "$UNIT_DIR/$UNIT" 0644 <<UNIT
[Unit]
Description=cloudy database sidecar (lease, fencing, PostgreSQL, virtual IP)
Wants=network-online.target time-sync.target
After=network-online.target remote-fs.target time-sync.target
RequiresMountsFor=$EFS_MOUNT

[Service]
Type=simple
User=postgres
Group=postgres
EnvironmentFile=/etc/cloudy/database-sidecar.env
RuntimeDirectory=postgresql
ExecStartPre=+/usr/sbin/ip address replace $VIRTUAL_IP/32 dev lo
ExecStart=$NODE $APP_DIR/sidecar/main.mjs
Restart=always
RestartSec=2
RestartPreventExitStatus=78
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=45
StandardOutput=append:$LOG_DIR/sidecar.log
StandardError=inherit
LimitNOFILE=65536
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
# --now starts it if it is not running; a running sidecar (perhaps the primary) is not disturbed.
systemctl enable --now "$UNIT"
systemctl enable --now cloudy-backup-full.timer cloudy-backup-diff.timer cloudy-backup-watch.timer
if ! systemctl is-active --quiet "$UNIT"; then
  tail -n 50 "$ROOT$LOG_DIR/sidecar.log" || true
  echo "database.sh: $UNIT is not running" >&2
  exit 1
fi
log "$UNIT is running as $INSTANCE_ID (lease table $LEASE_TABLE)"

# The holder of an unexpired lease that has published itself as primary: its sidecar publishes only after
# PostgreSQL accepts connections and the virtual-IP route points at it. Empty while there is none. The sidecar's
# own bundle reads the lease (ec2/sidecar/serving-primary.ts), with the lease table and name it uses.
serving_primary() {
  LEASE_TABLE=$LEASE_TABLE LEASE_NAME=$LEASE_NAME AWS_REGION=$AWS_REGION \
    "$ROOT$NODE" "$ROOT$APP_DIR/sidecar/main.mjs" serving-primary
}

# The readiness gate: the primary (this instance or another) serves. The standby of a planned rollout signals
# too: the old primary keeps serving until its group is deleted (resources/database-instances.yml).
log "waiting for a primary that serves"
ATTEMPT=1
until PRIMARY=$(serving_primary) && [ -n "$PRIMARY" ]; do
  if [ "$ATTEMPT" -ge "$READY_ATTEMPTS" ]; then
    tail -n 50 "$ROOT$LOG_DIR/sidecar.log" || true
    signal_cloudformation 1 "no primary served after $ATTEMPT checks of the lease"
    exit 1
  fi
  ATTEMPT=$((ATTEMPT + 1))
  sleep "$RETRY_SECONDS"
done
if [ "$PRIMARY" = "$INSTANCE_ID" ]; then ROLE=primary; else ROLE="standby of $PRIMARY"; fi
signal_cloudformation 0 "the database tier serves ($INSTANCE_ID is the $ROLE)"
