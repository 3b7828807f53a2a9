import { networkInterfaces } from 'node:os';
import { EgressLists, IpRange, nat64Of, parseRange, PRIVATE_RANGES, UNREACHABLE_RANGES } from './network-lists';

/** The nftables table of a desktop's network namespace. */
export const EGRESS_TABLE = 'inet cua_egress';
/** How long an address learned from an allowed name stays reachable at least, and at most (seconds). */
export const PIN_MIN_S = 300;
export const PIN_MAX_S = 86_400;

/** Every address of the host's own interfaces, as single-address ranges. */
export function hostAddresses(): IpRange[] {
  const out: IpRange[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const r = parseRange(a.address.split('%')[0]);
      if (r) out.push(r);
    }
  }
  return out;
}

const v4 = (list: readonly IpRange[]) => list.filter((r) => r.family === 4);
const v6 = (list: readonly IpRange[]) => list.filter((r) => r.family === 6);
/** IPv4 ranges and what a NAT64 gateway would make of them. */
const withNat64 = (list: readonly IpRange[]) => [...list, ...v4(list).map(nat64Of)];

function set(name: string, family: 4 | 6, ranges: readonly IpRange[], flags = 'flags interval; auto-merge;'): string[] {
  const cmds = [`add set ${EGRESS_TABLE} ${name} { type ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; ${flags} }`];
  if (ranges.length) cmds.push(`add element ${EGRESS_TABLE} ${name} { ${ranges.map((r) => r.text).join(', ')} }`);
  return cmds;
}

/**
 * The rules of a desktop's network namespace, as one line of nft commands, checked in this
 * order for every packet a program sends:
 *
 * 1. its own loopback, and packets of connections already let through: pass;
 * 2. never (loopback and link-local ranges, the host's own addresses): blocked;
 * 3. COMPUTER_NETWORK_DENY ranges: blocked;
 * 4. COMPUTER_NETWORK_ALLOW ranges: pass (this is how a private range is opened);
 * 5. private ranges (RFC 1918, shared address space, unique local): blocked;
 * 6. with `*` allowed: pass; otherwise only addresses the desktop's resolver learned from an
 *    allowed name (the pin sets, each entry with a timeout) pass, the rest is blocked.
 *
 * Blocked packets are refused at once (ICMP administratively prohibited), so a program sees
 * "No route to host" rather than waiting for a time-out. Each IPv4 range is also blocked or
 * opened in its NAT64 form (64:ff9b::/96).
 */
export function egressRuleset(lists: EgressLists, host: readonly IpRange[] = hostAddresses()): string {
  const never = [...UNREACHABLE_RANGES.map((e) => e.range), ...host];
  const priv = PRIVATE_RANGES.map((e) => e.range);
  const deny = withNat64(lists.denyRanges);
  const open = withNat64(lists.allowRanges);
  const chain = `${EGRESS_TABLE} output`;
  const cmds = [
    `add table ${EGRESS_TABLE}`,
    ...set('never4', 4, v4(never)),
    ...set('never6', 6, v6(never)),
    ...set('deny4', 4, v4(deny)),
    ...set('deny6', 6, v6(deny)),
    ...set('open4', 4, v4(open)),
    ...set('open6', 6, v6(open)),
    ...set('private4', 4, v4(priv)),
    ...set('private6', 6, v6(priv)),
    ...(lists.anyDestination ? [] : [...set('pin4', 4, [], 'flags timeout;'), ...set('pin6', 6, [], 'flags timeout;')]),
    `add chain ${EGRESS_TABLE} blocked`,
    `add rule ${EGRESS_TABLE} blocked reject with icmpx type admin-prohibited`,
    `add chain ${chain} { type filter hook output priority filter; policy accept; }`,
    `add rule ${chain} oifname "lo" accept`,
    `add rule ${chain} ct state established,related accept`,
    ...['never', 'deny'].flatMap((s) => [`add rule ${chain} ip daddr @${s}4 goto blocked`, `add rule ${chain} ip6 daddr @${s}6 goto blocked`]),
    `add rule ${chain} ip daddr @open4 accept`,
    `add rule ${chain} ip6 daddr @open6 accept`,
    `add rule ${chain} ip daddr @private4 goto blocked`,
    `add rule ${chain} ip6 daddr @private6 goto blocked`,
    ...(lists.anyDestination ? [] : [`add rule ${chain} ip daddr @pin4 accept`, `add rule ${chain} ip6 daddr @pin6 accept`, `add rule ${chain} goto blocked`]),
  ];
  return cmds.join('; ');
}

/** How long an address learned with `ttl` stays pinned, in seconds. */
export function pinSeconds(ttl: number): number {
  return Math.min(PIN_MAX_S, Math.max(PIN_MIN_S, ttl));
}

/**
 * nft commands that make `addresses` reachable for max(TTL, PIN_MIN_S) seconds (at most
 * PIN_MAX_S), refreshing the timeout of those already pinned (add, delete, add: one
 * transaction, so the address is never missing). Addresses must come from parsed DNS answers.
 */
export function pinCommands(addresses: readonly { family: 4 | 6; address: string; ttl: number }[]): string {
  return addresses
    .map((a) => {
      const r = parseRange(a.address);
      if (!r || r.family !== a.family) throw new Error(`not an IPv${a.family} address: ${a.address}`);
      const s = `${EGRESS_TABLE} pin${a.family}`;
      const addr = r.text.replace(/\/(32|128)$/, '');
      const timeout = pinSeconds(a.ttl);
      return `add element ${s} { ${addr} timeout ${timeout}s }; delete element ${s} { ${addr} }; add element ${s} { ${addr} timeout ${timeout}s }`;
    })
    .join('; ');
}
