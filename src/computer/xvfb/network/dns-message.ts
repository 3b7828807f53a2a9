/**
 * The little of the DNS wire format (RFC 1035) the desktops' resolver needs: the question of a
 * query, the addresses in an answer, and a refusal. Input comes from a sandbox or from upstream,
 * so every read is bounds-checked and a malformed message is an exception, never a crash.
 */

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const HEADER = 12;
const MAX_POINTERS = 32;

export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

export interface DnsQuestion {
  id: number;
  /** Lower case, without the trailing dot; '' for the root. */
  name: string;
  type: number;
  /** Bytes of the header and the question, for an answer built here. */
  head: Buffer;
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in place. */
function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (pos >= msg.length) throw new DnsFormatError('name runs past the message');
    const len = msg[pos];
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsFormatError('truncated pointer');
      if (++jumps > MAX_POINTERS) throw new DnsFormatError('pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1];
      continue;
    }
    if (len > 63) throw new DnsFormatError('bad label length');
    if (pos + 1 + len > msg.length) throw new DnsFormatError('label runs past the message');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), end };
}

/** The one question of a standard query; throws DnsFormatError for anything else. */
export function parseQuery(msg: Buffer): DnsQuestion {
  if (msg.length < HEADER) throw new DnsFormatError('shorter than a header');
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('not a query');
  if ((flags >> 11) & 0xf) throw new DnsFormatError('not a standard query');
  if (msg.readUInt16BE(4) !== 1) throw new DnsFormatError('not exactly one question');
  const { name, end } = readName(msg, HEADER);
  if (end + 4 > msg.length) throw new DnsFormatError('question runs past the message');
  return { id: msg.readUInt16BE(0), name, type: msg.readUInt16BE(end), head: msg.subarray(0, end + 4) };
}

/** An answer with no records and `rcode`, to the question `q` (recursion desired/available set as asked). */
export function refusal(q: DnsQuestion, rcode: number): Buffer {
  const out = Buffer.from(q.head);
  const rd = q.head.readUInt16BE(2) & 0x0100;
  out.writeUInt16BE(0x8000 | rd | 0x0080 | rcode, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

/** An answer's id, response code and the IPv4/IPv6 addresses of its answer section (with their TTLs, in seconds). */
export function parseAnswer(msg: Buffer): { id: number; rcode: number; addresses: { family: 4 | 6; address: string; ttl: number }[] } {
  if (msg.length < HEADER) throw new DnsFormatError('shorter than a header');
  const flags = msg.readUInt16BE(2);
  if (!(flags & 0x8000)) throw new DnsFormatError('not a response');
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = HEADER;
  for (let i = 0; i < qd; i++) pos = readName(msg, pos).end + 4;
  const addresses: { family: 4 | 6; address: string; ttl: number }[] = [];
  for (let i = 0; i < an; i++) {
    pos = readName(msg, pos).end;
    if (pos + 10 > msg.length) throw new DnsFormatError('record runs past the message');
    const type = msg.readUInt16BE(pos);
    const cls = msg.readUInt16BE(pos + 2);
    const ttl = msg.readUInt32BE(pos + 4);
    const len = msg.readUInt16BE(pos + 8);
    pos += 10;
    if (pos + len > msg.length) throw new DnsFormatError('record data runs past the message');
    if (cls === 1 && type === TYPE_A && len === 4) addresses.push({ family: 4, address: [...msg.subarray(pos, pos + 4)].join('.'), ttl });
    if (cls === 1 && type === TYPE_AAAA && len === 16) {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(msg.readUInt16BE(pos + 2 * g).toString(16));
      addresses.push({ family: 6, address: groups.join(':'), ttl });
    }
    pos += len;
  }
  return { id: msg.readUInt16BE(0), rcode: flags & 0xf, addresses };
}
