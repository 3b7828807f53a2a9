import { execFileSync } from 'node:child_process';
import { parseEgressLists, parseRange } from './network-lists';
import { egressRuleset, pinCommands } from './egress-rules';

const lists = (env: { COMPUTER_NETWORK_ALLOW?: string; COMPUTER_NETWORK_DENY?: string }) => parseEgressLists(env.COMPUTER_NETWORK_ALLOW, env.COMPUTER_NETWORK_DENY);
const host = [parseRange('192.0.2.10')!, parseRange('2001:db8::10')!];

/** Loads `commands` (one nft line each) into a fresh, empty network namespace of its own and lists the result. */
function loadInScratchNamespace(...commands: string[]): string {
  const script = 'for c in "$@"; do nft "$c" || exit 1; done; nft list table inet cua_egress';
  return execFileSync('unshare', ['--user', '--map-root-user', '--net', '--', 'sh', '-c', script, 'load', ...commands], { encoding: 'utf8' });
}

describe(egressRuleset.name, () => {
  it('checks never, deny, allow, private in that order, and lets everything else pass when `*` is allowed', () => {
    const text = egressRuleset(lists({ COMPUTER_NETWORK_DENY: '198.51.100.0/24', COMPUTER_NETWORK_ALLOW: '*, 10.20.0.0/16' }), host);
    const rules = text.split('; ').filter((c) => c.startsWith('add rule inet cua_egress output'));
    expect(rules.map((r) => r.slice('add rule inet cua_egress output '.length))).toEqual([
      'oifname "lo" accept',
      'ct state established,related accept',
      'ip daddr @never4 goto blocked',
      'ip6 daddr @never6 goto blocked',
      'ip daddr @deny4 goto blocked',
      'ip6 daddr @deny6 goto blocked',
      'ip daddr @open4 accept',
      'ip6 daddr @open6 accept',
      'ip daddr @private4 goto blocked',
      'ip6 daddr @private6 goto blocked',
    ]);
    expect(text).toContain('add element inet cua_egress never4 { 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 192.0.2.10/32 }');
    expect(text).toContain('2001:db8::10/128');
    // A NAT64 gateway is not a way around the IPv4 rules.
    expect(text).toMatch(/never6 \{[^}]*64:ff9b::7f00:0\/104/);
    expect(text).toContain('add element inet cua_egress deny6 { 64:ff9b::c633:6400/120 }');
    expect(text).toContain('add element inet cua_egress open4 { 10.20.0.0/16 }');
    expect(text).toMatch(/private4 \{ 10.0.0.0\/8, 172.16.0.0\/12, 192.168.0.0\/16, 100.64.0.0\/10 \}/);
    expect(text).toMatch(/private6 \{ fc00::\/7, 64:ff9b::a00:0\/104/);
    expect(text).not.toContain('pin4');
  });

  it('with an allow list, lets through only learned addresses after the fixed ranges, and blocks the rest', () => {
    const text = egressRuleset(lists({ COMPUTER_NETWORK_ALLOW: 'example.com' }), host);
    expect(text).toContain('add set inet cua_egress pin4 { type ipv4_addr; flags timeout; }');
    expect(text.endsWith('add rule inet cua_egress output ip daddr @pin4 accept; add rule inet cua_egress output ip6 daddr @pin6 accept; add rule inet cua_egress output goto blocked')).toBe(true);
  });

  it('is accepted by the real nft, and pins refresh their timeout', () => {
    const text = egressRuleset(lists({ COMPUTER_NETWORK_ALLOW: 'example.com, 10.20.0.0/16, 2001:db8:1::/48', COMPUTER_NETWORK_DENY: '203.0.113.0/24' }), [...host, parseRange('127.0.0.1')!]);
    const pins = pinCommands([
      { family: 4, address: '198.51.100.7', ttl: 30 },
      { family: 6, address: '2001:db8:0:0:0:0:0:7', ttl: 999_999 },
    ]);
    const listed = loadInScratchNamespace(text, pins, pins);
    expect(listed).toMatch(/198\.51\.100\.7 timeout 5m/);
    expect(listed).toMatch(/2001:db8::7 timeout 1d/);
    expect(listed).toMatch(/reject with icmpx admin-prohibited/);
    expect(() => pinCommands([{ family: 4, address: '1.2.3.4; flush ruleset', ttl: 1 }])).toThrow(/not an IPv4 address/);
  });
});
