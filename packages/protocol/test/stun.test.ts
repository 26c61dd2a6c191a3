import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindingOutcome,
  decodeStunMessage,
  encodeBindingRequest,
  encodeStunMessage,
  encodeXorMappedAddress,
  parseXorMappedAddress,
  STUN_ATTR_FINGERPRINT,
  STUN_ATTR_SOFTWARE,
  STUN_MAX_ATTRIBUTES,
  type StunMessage,
  type TransportAddress,
} from '../src/stun/index.js';
import { codeOf } from './error-code.js';

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

describe('STUN message codec (shared by client and server)', () => {
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
    expect(codeOf(() => decodeStunMessage(tampered))).toBe('PROTO_ERR_STUN_BAD_FINGERPRINT');
  });

  it('encodes a 20-byte Binding request with the magic cookie', () => {
    const tx = new Uint8Array(12).fill(7);
    expect(Buffer.from(encodeBindingRequest(tx)).toString('hex')).toBe('000100002112a442070707070707070707070707');
    expect(codeOf(() => encodeBindingRequest(new Uint8Array(11)))).toBe('PROTO_ERR_INVALID_ARGUMENT');
  });

  it('rejects structural errors with typed codes', () => {
    expect(codeOf(() => decodeStunMessage(new Uint8Array(19)))).toBe('PROTO_ERR_STUN_MALFORMED');
    const noCookie = RFC5769_IPV4_RESPONSE.slice();
    noCookie[4] = 0;
    expect(codeOf(() => decodeStunMessage(noCookie))).toBe('PROTO_ERR_STUN_MALFORMED');
    const badLength = RFC5769_IPV4_RESPONSE.slice(0, RFC5769_IPV4_RESPONSE.length - 4);
    expect(codeOf(() => decodeStunMessage(badLength))).toBe('PROTO_ERR_STUN_MALFORMED');
    expect(codeOf(() => decodeStunMessage(new Uint8Array(2000)))).toBe('PROTO_ERR_STUN_MALFORMED');
    // A success response without any mapped address.
    const empty = hex('01010000 2112a442 000000000000000000000000');
    expect(codeOf(() => bindingOutcome(decodeStunMessage(empty)))).toBe('PROTO_ERR_STUN_NO_MAPPED_ADDRESS');
  });

  it('reads a Binding error response', () => {
    // ERROR-CODE 420 "Unknown" (class 4, number 20).
    const msg = hex('01110010 2112a442 000000000000000000000000 0009000b 00000414 556e6b6e 6f776e00');
    expect(bindingOutcome(decodeStunMessage(msg))).toEqual({ ok: false, errorCode: 420, reason: 'Unknown' });
  });

  it('never throws anything but a ProtocolError (PROTO_ERR_STUN_*) on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const code = codeOf(() => bindingOutcome(decodeStunMessage(bytes)));
        return code === undefined || code.startsWith('PROTO_ERR_STUN_');
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws anything but a ProtocolError (PROTO_ERR_STUN_*) on mutated valid responses', () => {
    fc.assert(
      fc.property(fc.nat(RFC5769_IPV4_RESPONSE.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const b = RFC5769_IPV4_RESPONSE.slice();
        b[at] = b[at]! ^ xor;
        const code = codeOf(() => bindingOutcome(decodeStunMessage(b)));
        return code === undefined || code.startsWith('PROTO_ERR_STUN_');
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses a length field that is not a multiple of 4, even when it matches the datagram', () => {
    const odd = hex('00010002 2112a442 000000000000000000000000 0000');
    expect(codeOf(() => decodeStunMessage(odd))).toBe('PROTO_ERR_STUN_MALFORMED');
  });

  it('refuses an attribute whose declared length runs past the message', () => {
    const over = hex('00010008 2112a442 000000000000000000000000 80220010 61626364');
    expect(codeOf(() => decodeStunMessage(over))).toBe('PROTO_ERR_STUN_MALFORMED');
  });

  it('refuses a FINGERPRINT that is not the last attribute', () => {
    const tx = new Uint8Array(12).fill(3);
    const withFp = encodeStunMessage({ type: 0x0001, transactionId: tx, attributes: [] }, { fingerprint: true });
    // Append an attribute after the FINGERPRINT and fix up the length field.
    const b = new Uint8Array(withFp.length + 8);
    b.set(withFp);
    b.set([0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64], withFp.length);
    new DataView(b.buffer).setUint16(2, b.length - 20);
    expect(codeOf(() => decodeStunMessage(b))).toBe('PROTO_ERR_STUN_MALFORMED');
  });

  it('refuses an XOR-MAPPED-ADDRESS with an unknown family or a wrong length', () => {
    const tx = new Uint8Array(12);
    expect(codeOf(() => parseXorMappedAddress(hex('0003a147 e112a643'), tx))).toBe('PROTO_ERR_STUN_MALFORMED');
    expect(codeOf(() => parseXorMappedAddress(hex('0001a147 e112a6'), tx))).toBe('PROTO_ERR_STUN_MALFORMED');
    expect(codeOf(() => parseXorMappedAddress(hex('0002a147 e112a643'), tx))).toBe('PROTO_ERR_STUN_MALFORMED');
  });

  it('refuses to encode what it could not decode', () => {
    const tx = new Uint8Array(12);
    expect(codeOf(() => encodeStunMessage({ type: 0x4001, transactionId: tx, attributes: [] }))).toBe(
      'PROTO_ERR_INVALID_ARGUMENT',
    );
    const big = [{ type: 0x8022, value: new Uint8Array(1_500) }];
    expect(codeOf(() => encodeStunMessage({ type: 1, transactionId: tx, attributes: big }))).toBe(
      'PROTO_ERR_INVALID_ARGUMENT',
    );
    const fp = [{ type: STUN_ATTR_FINGERPRINT, value: new Uint8Array(4) }];
    expect(codeOf(() => encodeStunMessage({ type: 1, transactionId: tx, attributes: fp }))).toBe(
      'PROTO_ERR_INVALID_ARGUMENT',
    );
    for (const address of ['1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0']) {
      const family = address.includes(':') ? 'IPv6' : 'IPv4';
      expect(
        codeOf(() => encodeXorMappedAddress({ family, address, port: 1 }, tx)),
        address,
      ).toBe('PROTO_ERR_INVALID_ARGUMENT');
    }
  });

  const message = fc.record({
    type: fc.integer({ min: 0, max: 0x3fff }),
    transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    attributes: fc.array(
      fc.record({
        type: fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== STUN_ATTR_FINGERPRINT),
        value: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: STUN_MAX_ATTRIBUTES - 1 },
    ),
  });
  const asPlain = (m: StunMessage) => ({
    type: m.type,
    transactionId: Array.from(m.transactionId),
    attributes: m.attributes.map((a) => ({ type: a.type, value: Array.from(a.value) })),
  });

  it('decode(encode(m)) is m, with and without FINGERPRINT', () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, fingerprint) => {
        const decoded = decodeStunMessage(encodeStunMessage(m, { fingerprint }));
        const attributes = fingerprint ? decoded.attributes.slice(0, -1) : decoded.attributes;
        if (fingerprint) expect(decoded.attributes.at(-1)?.type).toBe(STUN_ATTR_FINGERPRINT);
        expect(asPlain({ ...decoded, attributes })).toEqual(asPlain(m));
      }),
      { numRuns: 1_000 },
    );
  });

  it('XOR-MAPPED-ADDRESS round-trips IPv4 and IPv6 (parse(encode(a)) is a)', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
    // Any 16 bytes, printed the way the codec (and Node) prints them.
    const ipv6 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((raw) => {
      raw[0] = 0;
      raw[1] = 0x02;
      return parseMappedRaw(raw);
    });
    const address: fc.Arbitrary<TransportAddress> = fc.oneof(
      fc.record({ family: fc.constant('IPv4' as const), address: ipv4, port: fc.nat(0xffff) }),
      fc.record({ family: fc.constant('IPv6' as const), address: ipv6, port: fc.nat(0xffff) }),
    );
    fc.assert(
      fc.property(address, fc.uint8Array({ minLength: 12, maxLength: 12 }), (a, tx) => {
        expect(parseXorMappedAddress(encodeXorMappedAddress(a, tx), tx)).toEqual(a);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** The IPv6 text of a raw (unmasked) MAPPED-ADDRESS value, through the codec's own printer. */
function parseMappedRaw(value: Uint8Array): string {
  const zeroTx = new Uint8Array(12);
  // Unmasking with XOR twice: mask with the cookie/zero-tx key, then let the parser unmask it.
  const masked = value.slice();
  const key = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 0; i < 4; i++) masked[4 + i]! ^= key[i]!;
  return parseXorMappedAddress(masked, zeroTx).address;
}
