import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindingOutcome,
  decodeStunMessage,
  encodeBindingRequest,
  STUN_ATTR_SOFTWARE,
  StunError,
} from '../../src/stun/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// RFC 5769 §2.2 "Sample IPv4 Response" (SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853,
// MESSAGE-INTEGRITY, FINGERPRINT).
const RFC5769_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);

// RFC 5769 §2.3 "Sample IPv6 Response" (XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853).
const RFC5769_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof StunError ? err.code : `not a StunError: ${String(err)}`;
  }
}

describe('STUN message codec', () => {
  it('decodes the RFC 5769 IPv4 response, checking its FINGERPRINT', () => {
    const msg = decodeStunMessage(RFC5769_IPV4_RESPONSE);
    expect(msg.type).toBe(0x0101);
    expect(Buffer.from(msg.transactionId).toString('hex')).toBe('b7e7a701bc34d686fa87dfae');
    const software = msg.attributes.find((a) => a.type === STUN_ATTR_SOFTWARE);
    expect(new TextDecoder().decode(software?.value)).toBe('test vector');
    expect(bindingOutcome(msg)).toEqual({ ok: true, mapped: { family: 'IPv4', address: '192.0.2.1', port: 32853 } });
  });

  it('decodes the RFC 5769 IPv6 response', () => {
    const outcome = bindingOutcome(decodeStunMessage(RFC5769_IPV6_RESPONSE));
    expect(outcome).toEqual({
      ok: true,
      mapped: { family: 'IPv6', address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
    });
  });

  it('rejects a message whose FINGERPRINT does not match', () => {
    const tampered = RFC5769_IPV4_RESPONSE.slice();
    tampered[42] = tampered[42]! ^ 0x01; // flip a bit of the mapped port
    expect(codeOf(() => decodeStunMessage(tampered))).toBe('CLIENT_ERR_STUN_BAD_FINGERPRINT');
  });

  it('encodes a 20-byte Binding request with the magic cookie', () => {
    const tx = new Uint8Array(12).fill(7);
    expect(Buffer.from(encodeBindingRequest(tx)).toString('hex')).toBe('000100002112a442070707070707070707070707');
    expect(codeOf(() => encodeBindingRequest(new Uint8Array(11)))).toBe('CLIENT_ERR_STUN_INVALID_ARGUMENT');
  });

  it('rejects structural errors with typed codes', () => {
    expect(codeOf(() => decodeStunMessage(new Uint8Array(19)))).toBe('CLIENT_ERR_STUN_MALFORMED');
    const noCookie = RFC5769_IPV4_RESPONSE.slice();
    noCookie[4] = 0;
    expect(codeOf(() => decodeStunMessage(noCookie))).toBe('CLIENT_ERR_STUN_MALFORMED');
    const badLength = RFC5769_IPV4_RESPONSE.slice(0, RFC5769_IPV4_RESPONSE.length - 4);
    expect(codeOf(() => decodeStunMessage(badLength))).toBe('CLIENT_ERR_STUN_MALFORMED');
    expect(codeOf(() => decodeStunMessage(new Uint8Array(2000)))).toBe('CLIENT_ERR_STUN_MALFORMED');
    // A success response without any mapped address.
    const empty = hex('01010000 2112a442 000000000000000000000000');
    expect(codeOf(() => bindingOutcome(decodeStunMessage(empty)))).toBe('CLIENT_ERR_STUN_NO_MAPPED_ADDRESS');
  });

  it('reads a Binding error response', () => {
    // ERROR-CODE 420 "Unknown" (class 4, number 20).
    const msg = hex('01110010 2112a442 000000000000000000000000 0009000b 00000414 556e6b6e 6f776e00');
    expect(bindingOutcome(decodeStunMessage(msg))).toEqual({ ok: false, errorCode: 420, reason: 'Unknown' });
  });

  it('never throws anything but a StunError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const code = codeOf(() => bindingOutcome(decodeStunMessage(bytes)));
        return code === undefined || code.startsWith('CLIENT_ERR_STUN_');
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws anything but a StunError on mutated valid responses', () => {
    fc.assert(
      fc.property(fc.nat(RFC5769_IPV4_RESPONSE.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const b = RFC5769_IPV4_RESPONSE.slice();
        b[at] = b[at]! ^ xor;
        const code = codeOf(() => bindingOutcome(decodeStunMessage(b)));
        return code === undefined || code.startsWith('CLIENT_ERR_STUN_');
      }),
      { numRuns: 1_000 },
    );
  });
});
