#!/bin/bash
# NAT instance on Amazon Linux 2023: forward and masquerade the private subnets' traffic to the internet.
# Idempotent: safe to run again (rules are rebuilt, not appended twice).
set -euo pipefail

dnf install -y iptables-services

cat >/etc/sysctl.d/90-nat.conf <<'CONF'
net.ipv4.ip_forward = 1
CONF
sysctl --system >/dev/null

OUT_INTERFACE=$(ip route show default | awk '{ print $5; exit }')
if [ -z "$OUT_INTERFACE" ]; then
  echo "no default route: cannot tell the outside interface" >&2
  exit 1
fi

systemctl enable --now iptables
# The service's stock rules reject forwarded packets; the security group is the filter here.
iptables -F FORWARD
iptables -t nat -F POSTROUTING
iptables -t nat -A POSTROUTING -o "$OUT_INTERFACE" -j MASQUERADE
iptables-save >/etc/sysconfig/iptables
