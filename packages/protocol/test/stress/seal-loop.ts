/**
 * Child process for the never-freeze stress test: seals `count` envelopes in a tight loop
 * with the node:crypto suite, then prints "done <count>". A process that deadlocks inside
 * node:crypto never prints it (and ignores SIGTERM), which the parent test detects.
 *
 * Usage: node --conditions=source --import tsx seal-loop.ts <count>
 */
import { EnvelopeType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';

const count = Number(process.argv[2] ?? '10000');
const alice = generateIdentity(nodeSuite);
const bob = generateIdentity(nodeSuite);
const plaintext = new Uint8Array(64);
for (let i = 0; i < count; i++) {
  sealEnvelope(nodeSuite, { type: EnvelopeType.DATA, sender: alice, recipient: bob.publicKey, plaintext });
}
process.stdout.write(`done ${count}\n`);
