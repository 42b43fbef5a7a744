#!/bin/bash
# Builder instance of `npm run bake-ami` (Amazon Linux 2023): installs what every instance of the project's
# AMI needs (the AMI contract, docs/DEPLOY.md) — Node.js 24, cfn-signal (aws-cfn-bootstrap), the CloudWatch
# agent, logrotate, PostgreSQL 16, pgBackRest, the EFS mount helper, jq, the service user, the bundle at /opt/cloudy/dist and
# the RDS certificate bundle at /opt/cloudy/rds-ca —
# prepares the disk for imaging, reports the outcome to the bake through a presigned S3 URL and powers off;
# the bake then images the stopped instance.
# Runs after a prelude (scripts/bake-ami/user-data.ts) exporting BUNDLE_URL, BUNDLE_SHA256 and RESULT_URL.
# Variables are written $NAME, never with braces, like the other user data scripts.
set -euo pipefail

# Empty on the builder; tests point CLOUDY_ROOT at a scratch folder and put stub commands first on PATH.
ROOT=$(printenv CLOUDY_ROOT || true)
APP_DIR=$ROOT/opt/cloudy/dist
NODE=$ROOT/usr/bin/node-24
# Every region's RDS CAs: with databaseEngine aurora the web app verifies the cluster against this file
# (DB_CA_FILE; docs/DEPLOY.md, "TLS to the database"). The URL is the one the RDS and Aurora user guides give.
RDS_CA_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
RDS_CA_BUNDLE=$ROOT/opt/cloudy/rds-ca/global-bundle.pem
WORK_DIR=$(mktemp -d)
BUNDLE=$WORK_DIR/bundle.tar.gz
RESULT=$WORK_DIR/result.txt
FAILED_AT=unknown

log() {
  echo "bake-ami.sh: $*"
}

for NAME in BUNDLE_URL BUNDLE_SHA256 RESULT_URL; do
  if ! printenv "$NAME" >/dev/null; then
    echo "bake-ami.sh: $NAME is not set (the user data prelude exports it)" >&2
    exit 1
  fi
done

# The bake reads this result after the instance stopped: "ok", or what failed with the end of the log.
on_exit() {
  STATUS=$?
  if [ "$STATUS" -eq 0 ]; then
    echo ok >"$RESULT"
  else
    {
      echo "failed with status $STATUS at $FAILED_AT"
      tail -n 40 "$ROOT/var/log/cloud-init-output.log" 2>/dev/null || true
    } >"$RESULT"
  fi
  curl -fsS --retry 3 --upload-file "$RESULT" "$RESULT_URL" || log "could not report the result"
  rm -rf "$WORK_DIR"
  # Powering off on failure too: the bake notices at once instead of waiting for its timeout.
  systemctl poweroff --no-block
}
trap on_exit EXIT
trap 'FAILED_AT="line $LINENO: $BASH_COMMAND"' ERR

# Everything both tiers need, so that no instance installs a package at boot.
log "installing Node.js 24, aws-cfn-bootstrap, the CloudWatch agent, PostgreSQL 16 and the EFS mount helper"
dnf install -y nodejs24 aws-cfn-bootstrap amazon-cloudwatch-agent logrotate \
  postgresql16-server postgresql16 amazon-efs-utils jq
"$NODE" --version

# pgBackRest (WAL archive and base backups: docs/DATABASE-TIER.md, "Backups"). Amazon Linux 2023's repositories
# do not carry it (Debian's and the PostgreSQL project's RHEL/Fedora repositories do), so the bake builds the
# pinned release from its source with the project's documented build (meson, ninja), checked against the
# release tag's commit. SFTP repositories are not used: no libssh2.
PGBACKREST_VERSION=2.59.1
PGBACKREST_COMMIT=8c8f3ee63e310f0b3ea10b55ed3b96b4cc9296da
log "building pgBackRest $PGBACKREST_VERSION"
dnf install -y git gcc meson ninja-build pkgconf-pkg-config libpq-devel openssl-devel libxml2-devel \
  lz4-devel libzstd-devel bzip2-devel zlib-devel libyaml-devel
git clone --quiet --depth 1 --branch "release/$PGBACKREST_VERSION" https://github.com/pgbackrest/pgbackrest.git \
  "$WORK_DIR/pgbackrest"
test "$(git -C "$WORK_DIR/pgbackrest" rev-parse HEAD)" = "$PGBACKREST_COMMIT"
meson setup -Dlibssh2=disabled "$WORK_DIR/pgbackrest-build" "$WORK_DIR/pgbackrest"
ninja -C "$WORK_DIR/pgbackrest-build"
install -D -m 0755 "$WORK_DIR/pgbackrest-build/src/pgbackrest" "$ROOT/usr/bin/pgbackrest"

for FILE in /opt/aws/bin/cfn-signal /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl \
  /usr/sbin/logrotate /usr/bin/postgres /usr/bin/initdb /usr/bin/pg_isready /usr/bin/pgbackrest /usr/sbin/mount.efs \
  /usr/bin/jq; do
  test -e "$ROOT$FILE" || { echo "bake-ami.sh: $FILE is missing after the install" >&2; exit 1; }
done
# The sidecar starts PostgreSQL, and only under the lease: the distribution's unit must never run it.
systemctl mask postgresql.service

log "fetching the bundle"
curl -fsS --retry 5 --output "$BUNDLE" "$BUNDLE_URL"
echo "$BUNDLE_SHA256  $BUNDLE" | sha256sum --check --status

log "installing the bundle at /opt/cloudy/dist"
rm -rf "$APP_DIR.new"
mkdir -p "$APP_DIR.new"
tar -xzf "$BUNDLE" -C "$APP_DIR.new" --no-same-owner
for ENTRY in web/main.mjs web/worker.js web/prime-worker.mjs metrics/main.mjs sidecar/main.mjs \
  backup/cloudy-backup.sh backup/cloudy-restore.sh; do
  case "$ENTRY" in
    *.sh) bash -n "$APP_DIR.new/$ENTRY" ;;
    *) "$NODE" --check "$APP_DIR.new/$ENTRY" ;;
  esac
done
chmod -R u=rwX,go=rX "$APP_DIR.new"
rm -rf "$APP_DIR"
mv "$APP_DIR.new" "$APP_DIR"

# Fetched here, where the builder has internet access, so that no instance reaches out for it at boot; each bake
# takes AWS's current bundle. HTTPS only, verified against the system's trust store.
log "fetching the RDS certificate bundle"
curl -fsS --retry 5 --proto =https --output "$WORK_DIR/rds-ca.pem" "$RDS_CA_URL"
grep -q -- '-----BEGIN CERTIFICATE-----' "$WORK_DIR/rds-ca.pem"
install -D -m 0644 "$WORK_DIR/rds-ca.pem" "$RDS_CA_BUNDLE"

if ! id -u cloudy >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin cloudy
fi

log "preparing the disk for imaging"
dnf clean all
# Every instance made from the image must boot as a new machine: cloud-init runs its user data again,
# systemd gives it its own machine id.
cloud-init clean --logs
truncate -s 0 "$ROOT/etc/machine-id"
log "done"
