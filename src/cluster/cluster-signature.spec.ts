import { SIGNATURE_WINDOW_MS, signCall, verifyCall, type SignedCall } from './cluster-signature';

const SECRET = 'a-cluster-secret-of-at-least-32-characters';
const NOW = 1_800_000_000_000;
const call: SignedCall = { method: 'POST', path: '/cluster/mcp', target: 'pod-a@7', identity: 'eyJwcmluY2lwYWwiOiJhbGljZSJ9', time: NOW, body: Buffer.from('{"jsonrpc":"2.0"}') };

describe('forwarded call signatures', () => {
  it('verify what was signed with the same secret, within the window either way', () => {
    const sig = signCall(SECRET, call);
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyCall(SECRET, call, sig, NOW)).toBe(true);
    expect(verifyCall(SECRET, call, sig, NOW + SIGNATURE_WINDOW_MS)).toBe(true);
    expect(verifyCall(SECRET, call, sig, NOW - SIGNATURE_WINDOW_MS)).toBe(true);
  });

  it('refuse another secret, a call outside the window, and any change to what was signed', () => {
    const sig = signCall(SECRET, call);
    expect(verifyCall(`${SECRET}x`, call, sig, NOW)).toBe(false);
    expect(verifyCall(SECRET, call, sig, NOW + SIGNATURE_WINDOW_MS + 1)).toBe(false);
    expect(verifyCall(SECRET, call, sig, NOW - SIGNATURE_WINDOW_MS - 1)).toBe(false);
    for (const changed of [
      { ...call, target: 'pod-a@8' },
      { ...call, identity: 'eyJwcmluY2lwYWwiOiJtYWxsb3J5In0' },
      { ...call, path: '/cluster/other' },
      { ...call, method: 'DELETE' },
      { ...call, body: Buffer.from('{"jsonrpc":"2.0" }') },
    ]) expect(verifyCall(SECRET, changed, sig, NOW)).toBe(false);
  });

  it('refuse signatures that are not 64 hex digits without comparing them', () => {
    expect(verifyCall(SECRET, call, '', NOW)).toBe(false);
    expect(verifyCall(SECRET, call, 'zz'.repeat(32), NOW)).toBe(false);
    expect(verifyCall(SECRET, call, signCall(SECRET, call).slice(2), NOW)).toBe(false);
    expect(verifyCall(SECRET, { ...call, time: Number.NaN }, signCall(SECRET, call), NOW)).toBe(false);
  });
});
