// Our one file-layer answer, DECLINE "declined", decodes as the spec's DECLINE (golden layout
// "common header ‖ u8 reason"), and the spec's golden CREDIT/CHUNK/FAILED bytes decode.
import { describe, expect, it } from 'vitest';
import { fromHex } from '../bytes.js';
import { decodeFileMessage, encodeDeclineDeclined } from '../file-wire.js';

const ID = '00112233445566778899aabbccddeeff';

describe('file wire', () => {
  it('DECLINE declined round-trips', () => {
    expect(decodeFileMessage(encodeDeclineDeclined(ID))).toEqual({
      type: 'DECLINE',
      id: ID,
      reason: 'declined',
      reasonCode: 1,
    });
  });

  it('decodes the golden bytes of docs/protocol.md "Files and streams"', () => {
    expect(decodeFileMessage(fromHex(`0105${ID}0000000100000102`))).toEqual({
      type: 'CREDIT',
      id: ID,
      next: 1,
      limit: 258,
    });
    expect(decodeFileMessage(fromHex(`0104${ID}000000036869`))).toEqual({
      type: 'CHUNK',
      id: ID,
      index: 3,
      bytes: '6869',
    });
    expect(decodeFileMessage(fromHex(`0108${ID}04`))).toEqual({
      type: 'FAILED',
      id: ID,
      reason: 'hash-mismatch',
      reasonCode: 4,
    });
    expect(() => decodeFileMessage(fromHex(`0108${ID}63`))).toThrow(
      expect.objectContaining({ code: 'CLIENT_ERR_FILE_BAD_MESSAGE' }),
    );
  });
});
