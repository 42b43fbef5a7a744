#!/bin/bash
# Database instance boot (Amazon Linux 2023, from the project's AMI: Node.js and the bundle at /opt/cloudy/dist
# are baked in). Installs PostgreSQL, mounts the shared EFS file system with TLS at the parent of PGDATA, reads
# the database password from the cross-account secret, then writes and starts the database sidecar's unit.
# The sidecar, not systemd, starts PostgreSQL, and only while it holds the lease (docs/DATABASE-TIER.md); the
# distribution's postgresql unit is masked so that nothing else can start a server on the shared directory.
# Runs after a prelude (resources/database.yml) exporting STAGE, AWS_REGION, STACK_NAME, LEASE_TABLE,
# EFS_FILE_SYSTEM_ID, VIRTUAL_IP, ROUTE_TABLE_IDS, DB_SECRET_ROLE_ARN, DB_SECRET_ID and DB_SECRET_REGION.
# Idempotent: a second run rewrites the same files and leaves a running sidecar (and its PostgreSQL) alone.
# Variables are written $NAME, never with braces: osls reads brace syntax in this file as its own variables.
set -euo pipefail

# Empty on an instance; tests point CLOUDY_ROOT at a scratch folder and put stub commands first on PATH.
ROOT=$(printenv CLOUDY_ROOT || true)
APP_DIR=/opt/cloudy/dist
NODE=/usr/bin/node-24
CONFIG_DIR=$ROOT/etc/cloudy
UNIT_DIR=$ROOT/etc/systemd/system
FSTAB=$ROOT/etc/fstab
# PGDATA lives one level below the mount point, so that initdb can build a new cluster beside it and move it
# into place in one rename (the sidecar does that under the lease).
EFS_MOUNT=/var/lib/cloudy/efs
PGDATA=$EFS_MOUNT/pgdata
PASSWORD_FILE=/etc/cloudy/db-password
UNIT=cloudy-database-sidecar.service
IMDS=http://169.254.169.254/latest
MOUNT_ATTEMPTS=$(printenv MOUNT_ATTEMPTS || echo 30)
RETRY_SECONDS=$(printenv RETRY_SECONDS || echo 10)

log() {
  echo "database.sh: $*"
}

for NAME in STAGE AWS_REGION STACK_NAME LEASE_TABLE EFS_FILE_SYSTEM_ID VIRTUAL_IP ROUTE_TABLE_IDS \
  DB_SECRET_ROLE_ARN DB_SECRET_ID DB_SECRET_REGION; do
  if ! printenv "$NAME" >/dev/null; then
    echo "database.sh: $NAME is not set (the user data prelude exports it)" >&2
    exit 1
  fi
done

# Replaces a file in one step with the text on stdin, so that a second run leaves the same content.
write_file() {
  TARGET=$1
  MODE=$2
  TEMPORARY=$(mktemp "$TARGET.XXXXXX")
  cat >"$TEMPORARY"
  chmod "$MODE" "$TEMPORARY"
  mv -f "$TEMPORARY" "$TARGET"
}

if [ ! -e "$ROOT$NODE" ] || [ ! -e "$ROOT$APP_DIR/sidecar/main.mjs" ]; then
  echo "database.sh: $NODE or $APP_DIR/sidecar/main.mjs is missing: this AMI was not made by npm run bake-ami" >&2
  exit 1
fi

log "installing PostgreSQL and the EFS mount helper"
dnf install -y postgresql16-server postgresql16 amazon-efs-utils jq
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
# The mount target's DNS name may take a while to resolve in a fresh VPC.
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

log "reading this instance's id (IMDSv2)"
IMDS_TOKEN=$(curl -fsS --retry 5 -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
INSTANCE_ID=$(curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/meta-data/instance-id")

log "reading the database credentials from $DB_SECRET_ID in $DB_SECRET_REGION"
CREDENTIALS=$(aws sts assume-role --region "$AWS_REGION" --role-arn "$DB_SECRET_ROLE_ARN" \
  --role-session-name "cloudy-$STAGE-db-$INSTANCE_ID" --query Credentials --output json)
SECRET=$(env AWS_ACCESS_KEY_ID="$(jq -r .AccessKeyId <<<"$CREDENTIALS")" \
  AWS_SECRET_ACCESS_KEY="$(jq -r .SecretAccessKey <<<"$CREDENTIALS")" \
  AWS_SESSION_TOKEN="$(jq -r .SessionToken <<<"$CREDENTIALS")" \
  aws secretsmanager get-secret-value --region "$DB_SECRET_REGION" --secret-id "$DB_SECRET_ID" \
  --query SecretString --output text)
DB_USERNAME=$(jq -er .username <<<"$SECRET")
# Read by initdb only, on the first initialisation of the shared data directory, which the sidecar runs
# under the lease: later boots never change the password of an existing database.
jq -er .password <<<"$SECRET" | write_file "$ROOT$PASSWORD_FILE" 0600
chown postgres:postgres "$ROOT$PASSWORD_FILE"

# systemd reads the environment file as root before it drops to the service user.
write_file "$CONFIG_DIR/database-sidecar.env" 0600 <<ENV
NODE_OPTIONS=--enable-source-maps
SIDECAR_MODE=aws
HOLDER_ID=$INSTANCE_ID
STAGE=$STAGE
AWS_REGION=$AWS_REGION
LEASE_TABLE=$LEASE_TABLE
VIRTUAL_IP=$VIRTUAL_IP
ROUTE_TABLE_IDS=$ROUTE_TABLE_IDS
PGDATA=$PGDATA
POSTGRES_BIN_DIR=/usr/bin
PG_PORT=5432
PG_LISTEN_ADDRESSES=*
PG_SOCKET_DIR=/run/postgresql
DB_SUPERUSER=$DB_USERNAME
DB_PASSWORD_FILE=$PASSWORD_FILE
ENV

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
LimitNOFILE=65536
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
# --now starts it if it is not running; a running sidecar (perhaps the primary) is not disturbed.
systemctl enable --now "$UNIT"
if ! systemctl is-active --quiet "$UNIT"; then
  journalctl --unit "$UNIT" --no-pager --lines 50 || true
  echo "database.sh: $UNIT is not running" >&2
  exit 1
fi
log "$UNIT is running as $INSTANCE_ID (lease table $LEASE_TABLE)"
