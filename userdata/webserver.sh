#!/bin/bash
# Web instance boot (Amazon Linux 2023, from the project's AMI: Node.js, the CloudWatch agent and the bundle at
# /opt/cloudy/dist are baked in by `npm run bake-ami`; nothing is installed at boot). Starts shipping the logs
# to CloudWatch Logs, writes the settings and systemd units of the web app and the metrics reporter, (re)starts
# both, waits until /health answers, then signals CloudFormation success or failure.
# Runs after a prelude (resources/web.yml) exporting STAGE, AWS_REGION, STACK_NAME, DB_SECRET_ROLE_ARN,
# DB_SECRET_ID, DB_SECRET_REGION, DB_WRITER_HOST (the virtual IP, or Aurora's cluster endpoint), DB_READER_HOST
# (empty without a reader), DB_CA_PARAMETER and DB_CA_FILE (where the database CA comes from: one of them is
# empty), METRICS_NAMESPACE, SIGNAL_RESOURCE, LOG_GROUP, WEB_PROCESSES and DB_POOL_MAX (counted in the
# database's connection budget), AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL (empty: no app authentication), and
# TARGET_HEALTHY_SECONDS (how long the load balancer takes to count a serving instance healthy).
# Idempotent: a second run writes the same files, restarts the services and signals again.
# Variables are written $NAME, never with braces: osls reads brace syntax in this file as its own variables.
set -euo pipefail

# Empty on an instance; tests point CLOUDY_ROOT at a scratch folder and put stub commands first on PATH.
ROOT=$(printenv CLOUDY_ROOT || true)
APP_DIR=/opt/cloudy/dist
# Baked by userdata/bake-ami.sh; with databaseEngine aurora, DB_CA_FILE names it.
RDS_CA_BUNDLE=/opt/cloudy/rds-ca/global-bundle.pem
NODE=/usr/bin/node-24
CFN_SIGNAL=$ROOT/opt/aws/bin/cfn-signal
AGENT_CTL=$ROOT/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
AGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/cloudy.json
CONFIG_DIR=$ROOT/etc/cloudy
UNIT_DIR=$ROOT/etc/systemd/system
# The services write here (not to the journal) so that the CloudWatch agent, which reads files, ships them.
LOG_DIR=/var/log/cloudy
HEALTH_URL=http://127.0.0.1:8080/health
# 5 minutes at most: the web group launches only once the database tier serves, so the app answers within
# seconds of starting. The health-check grace period (resources/web.yml) covers the boot plus this bound.
HEALTH_ATTEMPTS=$(printenv HEALTH_ATTEMPTS || echo 60)
HEALTH_INTERVAL_SECONDS=$(printenv HEALTH_INTERVAL_SECONDS || echo 5)
# In-flight requests get this long after SIGTERM, inside the target group's 20 s deregistration delay;
# systemd waits 10 s more before it kills what is left.
SHUTDOWN_GRACE_MS=15000
STOP_TIMEOUT_SECONDS=$((SHUTDOWN_GRACE_MS / 1000 + 10))

log() {
  echo "webserver.sh: $*"
}

for NAME in STAGE AWS_REGION STACK_NAME DB_SECRET_ROLE_ARN DB_SECRET_ID DB_SECRET_REGION DB_WRITER_HOST \
  DB_READER_HOST DB_CA_PARAMETER DB_CA_FILE METRICS_NAMESPACE SIGNAL_RESOURCE LOG_GROUP WEB_PROCESSES \
  DB_POOL_MAX AUTH_ISSUER AUTH_AUDIENCE AUTH_JWKS_URL TARGET_HEALTHY_SECONDS; do
  if ! printenv "$NAME" >/dev/null; then
    echo "webserver.sh: $NAME is not set (the user data prelude exports it)" >&2
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
    signal_cloudformation 1 "webserver.sh failed with status $STATUS, see the log group $LOG_GROUP"
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

# Replaces a file in one step with the text on stdin, so that a second run leaves the same content.
write_file() {
  TARGET=$1
  MODE=$2
  TEMPORARY=$(mktemp "$TARGET.XXXXXX")
  cat >"$TEMPORARY"
  chmod "$MODE" "$TEMPORARY"
  mv -f "$TEMPORARY" "$TARGET"
}

# The AMI contract (docs/DEPLOY.md): what npm run bake-ami installs, the RDS certificate bundle included.
for FILE in $NODE $APP_DIR/web/main.mjs $APP_DIR/web/worker.js $APP_DIR/web/prime-worker.mjs \
  $APP_DIR/metrics/main.mjs /opt/aws/bin/cfn-signal /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl \
  $RDS_CA_BUNDLE; do
  if [ ! -e "$ROOT$FILE" ]; then
    echo "webserver.sh: $FILE is missing: this AMI was not made by npm run bake-ami" >&2
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
          { "file_path": "$LOG_DIR/web.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/web" },
          { "file_path": "$LOG_DIR/metrics.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/metrics" }
        ]
      }
    }
  }
}
JSON
"$AGENT_CTL" -a fetch-config -m ec2 -s -c "file:$AGENT_CONFIG" ||
  log "the CloudWatch agent did not start: the logs stay on this instance"
# The agent follows a file across copytruncate; the app's request log would otherwise fill the disk.
write_file "$ROOT/etc/logrotate.d/cloudy" 0644 <<ROTATE
$LOG_DIR/*.log {
  daily
  rotate 3
  maxsize 100M
  missingok
  notifempty
  compress
  delaycompress
  copytruncate
}
ROTATE

if ! id -u cloudy >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin cloudy
fi

mkdir -p "$CONFIG_DIR" "$UNIT_DIR"

# systemd reads environment files as root before it drops to the service user: they stay private to root.
write_file "$CONFIG_DIR/web.env" 0600 <<ENV
NODE_ENV=production
NODE_OPTIONS=--enable-source-maps
PORT=8080
STAGE=$STAGE
AWS_REGION=$AWS_REGION
DB_SECRET_ROLE_ARN=$DB_SECRET_ROLE_ARN
DB_SECRET_ID=$DB_SECRET_ID
DB_SECRET_REGION=$DB_SECRET_REGION
DB_WRITER_HOST=$DB_WRITER_HOST
DB_READER_HOST=$DB_READER_HOST
DB_CA_PARAMETER=$DB_CA_PARAMETER
DB_CA_FILE=$DB_CA_FILE
WEB_PROCESSES=$WEB_PROCESSES
DB_POOL_MAX=$DB_POOL_MAX
AUTH_ISSUER=$AUTH_ISSUER
AUTH_AUDIENCE=$AUTH_AUDIENCE
AUTH_JWKS_URL=$AUTH_JWKS_URL
SHUTDOWN_GRACE_MS=$SHUTDOWN_GRACE_MS
ENV

write_file "$CONFIG_DIR/metrics.env" 0600 <<ENV
NODE_OPTIONS=--enable-source-maps
AWS_REGION=$AWS_REGION
METRICS_NAMESPACE=$METRICS_NAMESPACE
ENV

# KillMode=mixed: SIGTERM goes to the main process only; it drains and stops its HTTP workers itself.
# Sent to every process at once (the default), a worker would get a second SIGTERM from the main process
# after its handler was used up, and die mid-request.
write_file "$UNIT_DIR/cloudy-web.service" 0644 <<UNIT
[Unit]
Description=cloudy web app (port 8080)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=cloudy
Group=cloudy
EnvironmentFile=/etc/cloudy/web.env
ExecStart=$NODE $APP_DIR/web/main.mjs
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=$STOP_TIMEOUT_SECONDS
StandardOutput=append:$LOG_DIR/web.log
StandardError=inherit
LimitNOFILE=65536
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
UNIT

# The reporter may fail (metadata, CloudWatch) without touching the app; systemd starts it again.
write_file "$UNIT_DIR/cloudy-metrics.service" 0644 <<UNIT
[Unit]
Description=cloudy metrics reporter (CPU, memory, I/O wait to CloudWatch)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=cloudy
Group=cloudy
EnvironmentFile=/etc/cloudy/metrics.env
ExecStart=$NODE $APP_DIR/metrics/main.mjs
Restart=always
RestartSec=30
TimeoutStopSec=20
StandardOutput=append:$LOG_DIR/metrics.log
StandardError=inherit
Nice=10
MemoryMax=128M
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable cloudy-web.service cloudy-metrics.service
systemctl restart cloudy-web.service cloudy-metrics.service

log "waiting for $HEALTH_URL"
ATTEMPT=1
until curl -fsS --max-time 2 -o /dev/null "$HEALTH_URL"; do
  if [ "$ATTEMPT" -ge "$HEALTH_ATTEMPTS" ]; then
    tail -n 50 "$ROOT$LOG_DIR/web.log" || true
    signal_cloudformation 1 "the web app did not answer $HEALTH_URL after $ATTEMPT attempts"
    exit 1
  fi
  ATTEMPT=$((ATTEMPT + 1))
  sleep "$HEALTH_INTERVAL_SECONDS"
done
# A rolling update counts a signalled instance in service and retires an old one at once: signal only once the
# load balancer has had its consecutive health checks of this instance, or it serves with one target fewer.
log "the app answers; waiting $TARGET_HEALTHY_SECONDS s for the load balancer's health checks"
sleep "$TARGET_HEALTHY_SECONDS"
signal_cloudformation 0 "the web app answers $HEALTH_URL"
