import { describe, expect, it } from 'vitest';
import { DoctorError, parseDoctorOptions } from '../../src/doctor/index.js';

describe('parseDoctorOptions', () => {
  it('derives the health origin and STUN host from a ws URL, with defaults, frozen', () => {
    const c = parseDoctorOptions({ server: 'ws://203.0.113.10:8080/v1/ws' });
    expect(c).toMatchObject({ httpOrigin: 'http://203.0.113.10:8080', stunHost: '203.0.113.10', stunPort: 3478 });
    expect(c.stunAltPort).toBe(3479);
    expect(Object.isFrozen(c)).toBe(true);
    expect(parseDoctorOptions({ server: 'wss://rdv.example.org' }).httpOrigin).toBe('https://rdv.example.org');
    expect(parseDoctorOptions({ server: 'http://[2001:db8::1]:80' }).stunHost).toBe('2001:db8::1');
  });

  it('reports every problem at once', () => {
    try {
      parseDoctorOptions({ server: 'ftp://x', stunPort: 0, stunAltPort: 70_000, httpTimeoutMs: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DoctorError);
      const e = err as DoctorError;
      expect(e.code).toBe('CLIENT_ERR_DOCTOR_BAD_OPTIONS');
      expect(e.problems).toHaveLength(4);
    }
  });
});
