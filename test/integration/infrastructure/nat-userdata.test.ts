import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createScriptSandbox, type ScriptSandbox } from '../../support/script-sandbox';

const SCRIPT = fileURLToPath(new URL('../../../userdata/nat-instance.sh', import.meta.url));

/**
 * A scratch NAT instance: stubs for the package manager, sysctl, ip, systemctl and iptables. `dnf` fails while
 * its failure counter is above zero; `ip route show default` names eth0 as the way out.
 */
function scratchNat(): ScriptSandbox {
  return createScriptSandbox({
    script: SCRIPT,
    prefix: 'cloudy-nat-',
    stubs: {
      dnf: ({ failWhileCounting }) => failWhileCounting('dnf', 1),
      sysctl: '',
      ip: 'echo "default via 10.0.1.1 dev eth0 proto dhcp src 10.0.1.20 metric 512"',
      systemctl: '',
      iptables: '',
      'iptables-save': 'echo "# rules"',
      sleep: '',
    },
    env: { PACKAGE_ATTEMPTS: '4', RETRY_SECONDS: '0' },
  });
}

describe('userdata/nat-instance.sh', () => {
  let nat: ScriptSandbox;
  beforeEach(() => {
    nat = scratchNat();
  });
  afterEach(() => nat.remove());

  it('retries the package install, then forwards and masquerades through the default route', () => {
    // Prepare
    nat.failNext('dnf', 2);
    // Act
    const result = nat.run();
    // Assess
    assert.equal(result.status, 0, result.stderr);
    const calls = nat.calls();
    assert.equal(calls.filter((call) => call === 'dnf install -y iptables-services').length, 3);
    assert.match(result.stdout, /dnf install failed \(attempt 2\), retrying/);
    assert.equal(nat.file('etc/sysctl.d/90-nat.conf'), 'net.ipv4.ip_forward = 1\n');
    assert.deepEqual(calls.slice(-4), [
      'iptables -F FORWARD',
      'iptables -t nat -F POSTROUTING',
      'iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE',
      'iptables-save',
    ]);
    assert.equal(nat.file('etc/sysconfig/iptables'), '# rules\n');
  });

  it('gives up after the bounded number of install attempts, naming the package', () => {
    // Prepare
    nat.failNext('dnf', 10);
    // Act
    const result = nat.run();
    // Assess
    assert.equal(result.status, 1);
    assert.match(result.stderr, /could not install iptables-services after 4 attempts/);
    assert.ok(!nat.calls().some((call) => call.startsWith('iptables')));
  });
});
