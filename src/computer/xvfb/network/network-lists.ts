import { isIP } from 'node:net';

/**
 * What COMPUTER_NETWORK_ALLOW, COMPUTER_NETWORK_DENY and COMPUTER_NETWORK_DNS may hold, parsed
 * once at boot, and the address ranges a desktop in `egress` mode never (or by default not) reaches.
 */

/** An address range (CIDR); a single address is a range of one. */
export interface IpRange {
  family: 4 | 6;
  /** The first address, as a number. */
  base: bigint;
  prefix: number;
  /** Normalised text, e.g. `10.0.0.0/8`, `fc00::/7`, `203.0.113.7/32`. */
  text: string;
}

/** A parsed COMPUTER_NETWORK_ALLOW / COMPUTER_NETWORK_DENY: ranges and host names (a name covers itself and every name below it). */
export interface EgressLists {
  /** The allow list holds `*` (or is unset): every address not blocked is reachable, every name not denied resolves. */
  anyDestination: boolean;
  allowRanges: IpRange[];
  allowNames: string[];
  denyRanges: IpRange[];
  denyNames: string[];
}

export interface DnsServer {
  address: string;
  port: number;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseIpv4(text: string): bigint | undefined {
  if (isIP(text) !== 4) return undefined;
  return text.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  if (isIP(text) !== 6 || text.includes('%')) return undefined;
  let s = text;
  // A dotted IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v4 = parseIpv4(dotted[1])!;
    s = `${s.slice(0, -dotted[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function formatAddress(family: 4 | 6, n: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of zero groups (two or more) becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** An address as a number, or undefined when `text` is not an IP address. */
export function parseAddress(text: string): { family: 4 | 6; n: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, n: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, n: v6 };
}

function makeRange(family: 4 | 6, base: bigint, prefix: number): IpRange {
  return { family, base, prefix, text: `${formatAddress(family, base)}/${prefix}` };
}

/** Parses `address[/prefix]`; throws with what is wrong when it looks like one but is not valid. Undefined: not an address at all. */
export function parseRange(text: string): IpRange | undefined {
  const [addr, prefixText, extra] = text.split('/');
  const a = parseAddress(addr);
  if (!a) return undefined;
  const max = BITS[a.family];
  if (extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) throw new Error(`"${text}" is not an address range such as ${a.family === 4 ? '203.0.113.0/24' : '2001:db8::/32'}`);
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new Error(`"${text}": an IPv${a.family} prefix is at most /${max}`);
  const hostBits = BigInt(max - prefix);
  const base = (a.n >> hostBits) << hostBits;
  if (base !== a.n) throw new Error(`"${text}" has bits set after its /${prefix} prefix; write ${formatAddress(a.family, base)}/${prefix}`);
  return makeRange(a.family, base, prefix);
}

function range(text: string): IpRange {
  return parseRange(text)!;
}

export function rangeContains(outer: IpRange, inner: IpRange): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const shift = BigInt(BITS[outer.family] - outer.prefix);
  return inner.base >> shift === outer.base >> shift;
}

/** The NAT64 form (RFC 6052 well-known prefix 64:ff9b::/96) of an IPv4 range: a NAT64 gateway would carry it to that IPv4 range. */
export function nat64Of(r: IpRange): IpRange {
  return makeRange(6, (0x64ff9bn << 96n) | r.base, 96 + r.prefix);
}

interface NamedRange {
  range: IpRange;
  why: string;
}

const withNat64 = (list: NamedRange[]): NamedRange[] => [
  ...list,
  ...list.filter((e) => e.range.family === 4).map((e) => ({ range: nat64Of(e.range), why: `${e.why}, through NAT64` })),
];

/** Never reachable from a desktop in egress mode, whatever the lists say (the host's own addresses are added per computer). */
export const UNREACHABLE_RANGES: readonly NamedRange[] = withNat64([
  { range: range('0.0.0.0/8'), why: '"this host" addresses' },
  { range: range('127.0.0.0/8'), why: 'loopback (the host\'s own services, the MCP server among them)' },
  { range: range('169.254.0.0/16'), why: 'link-local (cloud metadata services)' },
  { range: range('::/128'), why: 'the unspecified address' },
  { range: range('::1/128'), why: 'loopback (the host\'s own services, the MCP server among them)' },
  { range: range('::ffff:0:0/96'), why: 'IPv4-mapped addresses (list the IPv4 address instead)' },
  { range: range('fe80::/10'), why: 'link-local (cloud metadata services)' },
]);

/** Not reachable by default (the cluster, its API server, other pods, the office network); COMPUTER_NETWORK_ALLOW can open parts. */
export const PRIVATE_RANGES: readonly NamedRange[] = withNat64([
  { range: range('10.0.0.0/8'), why: 'private (RFC 1918)' },
  { range: range('172.16.0.0/12'), why: 'private (RFC 1918)' },
  { range: range('192.168.0.0/16'), why: 'private (RFC 1918)' },
  { range: range('100.64.0.0/10'), why: 'shared address space (carrier-grade NAT, some clusters)' },
  { range: range('fc00::/7'), why: 'unique local (private IPv6)' },
]);

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A host name in its canonical form (lower case, no trailing dot), or undefined when it is not one. */
export function normaliseName(text: string): string | undefined {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (!name || name.length > 253) return undefined;
  return name.split('.').every((l) => LABEL.test(l)) ? name : undefined;
}

/** True when `name` is `entry` or a name below it. */
export function nameCovers(entry: string, name: string): boolean {
  return name === entry || name.endsWith(`.${entry}`);
}

export type ListEntry = { kind: 'range'; range: IpRange } | { kind: 'name'; name: string } | { kind: 'any' };

/** Parses one entry of an allow or deny list; throws an Error whose message says what to write instead. */
export function parseListEntry(text: string): ListEntry {
  if (text === '*') return { kind: 'any' };
  const r = parseRange(text);
  if (r) return { kind: 'range', range: r };
  if (/^\*\./.test(text)) throw new Error(`"${text}": write ${text.slice(2)} (a name already covers every name below it)`);
  const name = normaliseName(text);
  if (!name) throw new Error(`"${text}" is neither an address range (203.0.113.0/24, 2001:db8::/32, 198.51.100.7) nor a host name (example.com)`);
  return { kind: 'name', name };
}

/** Splits a comma-separated list into the entries it could parse and a message for each it could not. */
function parseList(value: string | undefined, problems: string[]): ListEntry[] {
  const out: ListEntry[] = [];
  for (const text of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      out.push(parseListEntry(text));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return out;
}

/**
 * Parses COMPUTER_NETWORK_ALLOW (unset: `*`) and COMPUTER_NETWORK_DENY. Throws when an entry is
 * malformed, when the allow list names an address a desktop can never reach, or when the deny
 * list holds `*`; the message names each entry and what to do.
 */
export function parseEgressLists(allow: string | undefined, deny: string | undefined): EgressLists {
  const problems: string[] = [];
  const allowed = allow === undefined ? [{ kind: 'any' } as ListEntry] : parseList(allow, problems);
  const denied = parseList(deny, problems);
  for (const e of allowed) {
    if (e.kind !== 'range') continue;
    const hit = UNREACHABLE_RANGES.find((u) => rangeContains(u.range, e.range));
    if (hit) problems.push(`${e.range.text} is ${hit.why}: a desktop never reaches it`);
  }
  if (denied.some((e) => e.kind === 'any')) problems.push('"*" cannot be denied; set COMPUTER_NETWORK=off for no network at all');
  if (allow !== undefined && allowed.length === 0 && !problems.length) problems.push('is empty; leave it unset for every destination, or set COMPUTER_NETWORK=off for none');
  if (problems.length) throw new Error(problems.join('; '));
  const ranges = (list: ListEntry[]) => list.flatMap((e) => (e.kind === 'range' ? [e.range] : []));
  const names = (list: ListEntry[]) => [...new Set(list.flatMap((e) => (e.kind === 'name' ? [e.name] : [])))];
  return {
    anyDestination: allowed.some((e) => e.kind === 'any'),
    allowRanges: ranges(allowed),
    allowNames: names(allowed),
    denyRanges: ranges(denied),
    denyNames: names(denied),
  };
}

/** Parses COMPUTER_NETWORK_DNS: `address`, `address:port`, `[v6]:port`; default port 53. */
export function parseDnsServers(value: string | undefined): DnsServer[] {
  const problems: string[] = [];
  const out: DnsServer[] = [];
  for (const text of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text) ?? [text, text, undefined];
    const address = m[1];
    const port = m[2] === undefined ? 53 : Number(m[2]);
    if (!isIP(address) || address.includes('%')) problems.push(`"${text}" is not an IP address (the desktops' resolver cannot look up its own upstream by name)`);
    else if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`"${text}": the port must be 1-65535`);
    else out.push({ address, port });
  }
  if (problems.length) throw new Error(problems.join('; '));
  return out;
}
