/**
 * Writes the protocol-layer conformance vectors under test/vectors/conformance/ (README.md there,
 * "Conformance kit"): frames, hello, envelopes, peer packets, handshake, transport, prekeys and
 * the handshake → rekey transcript. Fixed seeds, nonces, ephemerals and clocks; each vector is
 * proven against our code before it is written (VectorSet). Run after a deliberate wire change:
 *   node --conditions=source --import tsx packages/protocol/scripts/write-conformance.ts
 * test/conformance-vectors.test.ts checks that the files are what this produces.
 */

import { isMain, vectorFile, writeFiles } from './write-conformance-common.js';
import { envelopes, frames, hellos, SOURCE } from './write-conformance-v1.js';
import { handshake, handshakeRekeyTranscript, peerPackets, prekey, transport } from './write-conformance-v2.js';

export { clientPayload } from './write-conformance-v1.js';
export { goldenBundle, goldenBundleInput, heldGolden, prekeySealInput } from './write-conformance-v2.js';

/** Every protocol-layer file, name (under conformance/) → exact bytes. */
export function buildProtocolConformance(): Map<string, string> {
  const ids = new Set<string>();
  const files = new Map<string, string>();
  files.set('frames.json', vectorFile(SOURCE('client⇄server frames (frame.decode)'), frames(ids).vectors));
  files.set('hello.json', vectorFile(SOURCE('server authentication (hello.build, hello.verify)'), hellos(ids).vectors));
  files.set('envelopes.json', vectorFile(SOURCE('envelope v1 (envelope.seal, envelope.open)'), envelopes(ids).vectors));
  files.set(
    'peer-packets.json',
    vectorFile(SOURCE('peer packets as a relay checks them (packet.classify)'), peerPackets(ids).vectors),
  );
  files.set(
    'handshake.json',
    vectorFile(SOURCE('v2 handshake (handshake.initiate, handshake.respond)'), handshake(ids).vectors),
  );
  files.set(
    'transport.json',
    vectorFile(SOURCE('v2 transport packets (transport.seal, transport.open)'), transport(ids).vectors),
  );
  files.set(
    'prekey.json',
    vectorFile(
      SOURCE('v2 prekey bundles and messages (prekey.bundle, prekey.verify, prekey.seal, prekey.open)'),
      prekey(ids).vectors,
    ),
  );
  files.set('transcripts/handshake-rekey.json', handshakeRekeyTranscript(ids));
  return files;
}

if (isMain(import.meta.url)) {
  const files = buildProtocolConformance();
  writeFiles(files);
  console.log(`wrote ${[...files.keys()].join(', ')}`);
}
