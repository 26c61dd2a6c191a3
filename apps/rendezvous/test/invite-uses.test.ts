/** The memory broker's record of redeemed single-use invites is bounded and fails closed. */
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/broker/memory.js';
import { INVITE_USES_MAX_ENTRIES } from '../src/constants.js';

describe('MemoryBroker.redeemInvite', () => {
  it('holds at most INVITE_USES_MAX_ENTRIES live redemptions, refusing new ones rather than forgetting', async () => {
    const b = new MemoryBroker({ maxMailboxKeys: 10 });
    const now = 1_000_000;
    let redeemed = 0;
    for (let i = 0; i < INVITE_USES_MAX_ENTRIES; i++)
      if (await b.redeemInvite(`id${i}`, 'K', i < 10 ? now + 1 : now + 60_000, now)) redeemed++;
    expect(redeemed).toBe(INVITE_USES_MAX_ENTRIES);
    // Full of live entries except the 10 that expire at now + 1: those make room later.
    await expect(b.redeemInvite('new', 'K', now + 60_000, now)).rejects.toThrow(/full/);
    expect(await b.redeemInvite('id50', 'K', now + 60_000, now)).toBe(true); // known holder: still answered
    expect(await b.redeemInvite('id50', 'other', now + 60_000, now)).toBe(false);
    expect(await b.redeemInvite('new', 'K', now + 60_000, now + 2)).toBe(true);
    expect(b.bus.inviteUses.size).toBeLessThanOrEqual(INVITE_USES_MAX_ENTRIES);
  });
});
