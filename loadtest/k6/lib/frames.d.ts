// Types for frames.js, so the Node tests that check it against the protocol package typecheck.
export declare const FRAME: Readonly<
  Record<
    | 'CHALLENGE'
    | 'HELLO'
    | 'WELCOME'
    | 'SIGNAL'
    | 'RELAY'
    | 'DELIVER'
    | 'ACK'
    | 'PEER_OFFLINE'
    | 'ERROR'
    | 'PING'
    | 'PONG'
    | 'RESTARTING',
    number
  >
>;
export declare function frameType(buf: ArrayBuffer | Uint8Array): number;
export declare function decodeChallenge(buf: ArrayBuffer | Uint8Array): {
  challenge: Uint8Array;
  serverTime: number;
  origin: string;
};
export declare function decodeAck(buf: ArrayBuffer | Uint8Array): { frameId: number; status: number };
export declare function decodeDeliver(buf: ArrayBuffer | Uint8Array): {
  channel: number;
  from: Uint8Array;
  envelopeBytes: number;
};
export declare function decodeError(buf: ArrayBuffer | Uint8Array): { frameId: number; code: string };
export declare function decodeNonce(buf: ArrayBuffer | Uint8Array): number;
export declare function encodePingPong(type: number, nonce: number): ArrayBuffer;
export declare function withFrameId(frame: ArrayBuffer | Uint8Array, frameId: number): ArrayBuffer;
export declare function sameBytes(a: Uint8Array, b: Uint8Array): boolean;
