import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';

interface Snapshot<R> {
  version: 1;
  records: Record<string, R>;
}
type Entry<R> =
  | { op: 'put'; key: string; r: R }
  | { op: 'next'; key: string; next: number }
  | { op: 'del'; key: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Durable transfer records (one per transfer, keyed "<peer>/<id>") on the store's journal:
 * a record is written whole when it starts or changes state, and progress is one short line
 * (`next`) now and then, so a 1 GiB transfer costs a few hundred lines, not a rewrite each
 * time. The number of records is bounded by the caller (FILE_MAX_INCOMING / _OUTGOING plus
 * FILE_FINISHED_REMEMBERED).
 */
export class TransferStore<R extends { next: number }> {
  readonly #journal: Journal<Snapshot<R>, Entry<R>>;
  readonly #records = new Map<string, R>();

  /** `check` validates a record read back from disk (the file may be damaged or old). */
  constructor(dir: string, name: string, check: (v: unknown) => v is R) {
    this.#journal = new Journal(dir, name);
    const corrupt = (why: string) =>
      new ClientError('CLIENT_ERR_STATE_CORRUPT', `${name}: ${why}`, { path: `${dir}/${name}` });
    const { snapshot, entries } = this.#journal.load();
    if (snapshot !== null) {
      if (!isObject(snapshot) || snapshot.version !== 1 || !isObject(snapshot.records)) throw corrupt('bad snapshot');
      for (const [k, r] of Object.entries(snapshot.records)) {
        if (!check(r)) throw corrupt(`bad record ${k}`);
        this.#records.set(k, r);
      }
    }
    for (const e of entries as unknown[]) {
      if (!isObject(e) || typeof e.key !== 'string') throw corrupt('bad journal entry');
      if (e.op === 'put' && check(e.r)) this.#records.set(e.key, e.r);
      else if (e.op === 'next' && typeof e.next === 'number' && Number.isSafeInteger(e.next)) {
        const r = this.#records.get(e.key);
        if (r) r.next = e.next;
      } else if (e.op === 'del') this.#records.delete(e.key);
      else throw corrupt('bad journal entry');
    }
  }

  all(): Array<[string, R]> {
    return [...this.#records.entries()];
  }

  get(key: string): R | undefined {
    return this.#records.get(key);
  }

  put(key: string, r: R): void {
    this.#records.set(key, r);
    this.#append({ op: 'put', key, r });
  }

  setNext(key: string, next: number): void {
    const r = this.#records.get(key);
    if (!r) return;
    r.next = next;
    this.#append({ op: 'next', key, next });
  }

  delete(key: string): void {
    if (!this.#records.delete(key)) return;
    this.#append({ op: 'del', key });
  }

  #append(e: Entry<R>): void {
    this.#journal.append(e);
    if (this.#journal.wantsCompaction)
      this.#journal.compact({ version: 1, records: Object.fromEntries(this.#records) });
  }
}
