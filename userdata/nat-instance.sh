#!/bin/bash
# NAT instance on Amazon Linux 2023 (the stock AMI, not the project's): forward and masquerade the private
# subnets' traffic to the internet. Its one package comes from the distribution's repositories; the install is
# retried because a first boot may meet a network still settling or a busy mirror.
# Idempotent: safe to run again (rules are rebuilt, not appended twice).
set -euo pipefail

# Empty on an instance; tests point CLOUDY_ROOT at a scratch folder and put stub commands first on PATH.
ROOT=$(printenv CLOUDY_ROOT || true)
PACKAGE_ATTEMPTS=$(printenv PACKAGE_ATTEMPTS || echo 10)
RETRY_SECONDS=$(printenv RETRY_SECONDS || echo 15)

ATTEMPT=1
until dnf install -y iptables-services; do
  if [ "$ATTEMPT" -ge "$PACKAGE_ATTEMPTS" ]; then
    echo "nat-instance.sh: could not install iptables-services after $ATTEMPT attempts" >&2
    exit 1
  fi
  echo "nat-instance.sh: dnf install failed (attempt $ATTEMPT), retrying in $RETRY_SECONDS s"
  ATTEMPT=$((ATTEMPT + 1))
  sleep "$RETRY_SECONDS"
done

mkdir -p "$ROOT/etc/sysctl.d" "$ROOT/etc/sysconfig"
cat >"$ROOT/etc/sysctl.d/90-nat.conf" <<'CONF'
net.ipv4.ip_forward = 1
CONF
sysctl --system >/dev/null

OUT_INTERFACE=$(ip route show default | awk '{ print $5; exit }')
if [ -z "$OUT_INTERFACE" ]; then
  echo "nat-instance.sh: no default route: cannot tell the outside interface" >&2
  exit 1
fi

systemctl enable --now iptables
# The service's stock rules reject forwarded packets; the security group is the filter here.
iptables -F FORWARD
iptables -t nat -F POSTROUTING
iptables -t nat -A POSTROUTING -o "$OUT_INTERFACE" -j MASQUERADE
iptables-save >"$ROOT/etc/sysconfig/iptables"
