// Envelope v1 against packages/protocol/test/vectors/golden-envelopes.json: our seal reproduces
// every golden envelope byte for byte and our open returns its plaintext.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes.js';
import { decodeEnvelope, openEnvelope, sealEnvelope } from '../envelope.js';
import { identityFromSeed } from '../identity.js';

const file = JSON.parse(
  readFileSync(new URL('../../../packages/protocol/test/vectors/golden-envelopes.json', import.meta.url), 'utf8'),
) as { envelopes: Record<string, string | number>[] };

describe('golden envelopes', () => {
  for (const v of file.envelopes) {
    it(`${v.name}: seals and opens byte for byte`, () => {
      const sender = identityFromSeed(fromHex(v.senderSecret as string));
      const recipient = identityFromSeed(fromHex(v.recipientSecret as string));
      expect(toHex(sender.publicKey)).toBe(v.senderPublic);
      const sealed = sealEnvelope(
        sender,
        recipient.publicKey,
        v.type as number,
        fromHex(v.plaintext as string),
        v.timestamp as number,
        {
          messageId: fromHex(v.messageId as string),
          nonce: fromHex(v.nonce as string),
          ephemeralSecret: fromHex(v.ephemeralSecret as string),
        },
      );
      expect(toHex(sealed)).toBe(v.envelope);
      const opened = openEnvelope(recipient, sealed, v.timestamp as number);
      expect(toHex(opened.plaintext)).toBe(v.plaintext);
    });
  }

  it('refuses a flipped ciphertext bit with PROTO_ERR_BAD_SIGNATURE and another recipient with PROTO_ERR_WRONG_RECIPIENT', () => {
    const v = file.envelopes[0] as Record<string, string | number>;
    const bytes = fromHex(v.envelope as string);
    const sender = identityFromSeed(fromHex(v.senderSecret as string));
    const recipient = identityFromSeed(fromHex(v.recipientSecret as string));
    const tampered = bytes.slice();
    tampered[150] = (tampered[150] as number) ^ 1;
    expect(() => openEnvelope(recipient, tampered, v.timestamp as number)).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_BAD_SIGNATURE' }),
    );
    expect(() => openEnvelope(sender, bytes, v.timestamp as number)).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_WRONG_RECIPIENT' }),
    );
    expect(() => openEnvelope(recipient, bytes, (v.timestamp as number) + 300_001)).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW' }),
    );
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(() => decodeEnvelope(v2)).toThrow(expect.objectContaining({ code: 'PROTO_ERR_BAD_VERSION' }));
    expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1))).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_TRUNCATED' }),
    );
  });
});
