/**
 * `npm run bench:session`: v2 session costs on this machine (bench/session-measure.ts): handshakes
 * per second per CryptoSuite, session seal / open per second for 1 KiB and 16 KiB. Prints a
 * markdown table and writes it, with JSON, to bench/results/session.{md,json}. `bench:crypto`
 * prints the same table after its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureSessions, SESSION_NOTE, sessionTable } from './session-measure.js';

const m = measureSessions();
const machine = `${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const report = `# bench:session — ${new Date().toISOString()}\n\n${machine}\n\n${sessionTable(m)}\n\n${SESSION_NOTE}\n`;
console.log(report);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}session.md`, report);
writeFileSync(`${dir}session.json`, `${JSON.stringify({ date: new Date().toISOString(), machine, ...m }, null, 2)}\n`);
