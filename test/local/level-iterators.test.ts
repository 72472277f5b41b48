import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { patchDynalite } from '../../local/dynalite-patches';

interface LevelIterator {
  next(): Promise<unknown>;
}
interface DynaliteStore {
  db: { values(options: unknown): LevelIterator; close(): Promise<void> };
  getItemDb(name: string): {
    batch(operations: unknown[], callback: (error?: Error) => void): void;
    createValueStream(options: unknown): Readable;
  };
}

describe("dynalite's LevelDB iterators in the local runtime", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'requeue-level-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are closed once a read stream ends or is destroyed', async () => {
    // as the dynalite thread does, with Node's own require
    const dynalitePath = require.resolve('dynalite');
    patchDynalite(dynalitePath);
    const store = (createRequire(dynalitePath)('./db') as { create(options: unknown): DynaliteStore }).create({ path: dir });
    const opened: LevelIterator[] = [];
    const values = store.db.values.bind(store.db);
    store.db.values = (options) => {
      const iterator = values(options);
      opened.push(iterator);
      return iterator;
    };
    const items = store.getItemDb('jobs');
    const puts = Array.from({ length: 20 }, (_, i) => ({ type: 'put', key: `k${String(i).padStart(2, '0')}`, value: { n: { N: String(i) } } }));
    await new Promise<void>((resolve, reject) => items.batch(puts, (error) => (error ? reject(error) : resolve())));

    // read to the end, as a Query of a whole partition
    const whole = items.createValueStream({ limit: -1 });
    let read = 0;
    whole.on('data', () => read++);
    await once(whole, 'end');
    expect(read).toBe(20);
    // destroyed after the first entry, as a Query that stops at its Limit
    const partial = items.createValueStream({ reverse: true, limit: 5 });
    await once(partial, 'data');
    partial.destroy();
    await once(partial, 'close');

    expect(opened).toHaveLength(2);
    for (const iterator of opened) await expect(iterator.next()).rejects.toMatchObject({ code: 'LEVEL_ITERATOR_NOT_OPEN' });
    await store.db.close();
  });
});
