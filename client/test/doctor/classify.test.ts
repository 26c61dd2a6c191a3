import { describe, expect, it } from 'vitest';
import { classifyNat } from '../../src/doctor/index.js';

const at = (address: string, port: number) => ({ mapped: { family: 'IPv4' as const, address, port } });

describe('classifyNat', () => {
  it('same mapping towards both ports: endpoint-independent', () => {
    expect(classifyNat(5000, ['192.0.2.10'], at('203.0.113.21', 5000), at('203.0.113.21', 5000)).mapping).toBe(
      'endpoint-independent',
    );
  });
  it('different port or address per destination: address/port-dependent', () => {
    expect(classifyNat(5000, [], at('203.0.113.21', 40001), at('203.0.113.21', 40002)).mapping).toBe(
      'address-port-dependent',
    );
    expect(classifyNat(5000, [], at('203.0.113.21', 40001), at('203.0.113.22', 40001)).mapping).toBe(
      'address-port-dependent',
    );
  });
  it('our own address and port: no NAT', () => {
    expect(classifyNat(5000, ['203.0.113.40'], at('203.0.113.40', 5000), at('203.0.113.40', 5000)).mapping).toBe(
      'no-nat',
    );
    // Same address but a translated port is still NAT.
    expect(classifyNat(5000, ['203.0.113.40'], at('203.0.113.40', 6000), at('203.0.113.40', 6000)).mapping).toBe(
      'endpoint-independent',
    );
  });
  it('no answers: UDP blocked; one answer: unknown', () => {
    expect(classifyNat(5000, [], { error: 'timeout' }, { error: 'timeout' }).mapping).toBe('udp-blocked');
    const one = classifyNat(5000, [], at('203.0.113.21', 1), { error: 'timeout' });
    expect(one.mapping).toBe('unknown');
    expect(one.reason).toContain('alternate port');
  });
});
