import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DYNALITE_VERSION, DynaliteMismatchError, dynaliteMismatches, patchDynalite } from '../../local/dynalite-patches';

// local/dynalite-patches.ts changes dynalite's private modules: an upgrade of dynalite that moves what it changes
// must fail here, naming what moved, rather than leave the local runtime tearing its indexes again

const installed = require.resolve('dynalite');

describe('the dynalite local/dynalite-patches.ts changes', () => {
  it('is the version and has the internals the changes were written against', () => {
    const { version } = JSON.parse(readFileSync(path.join(path.dirname(installed), 'package.json'), 'utf8')) as { version: string };
    expect(version).toBe(DYNALITE_VERSION);
    // each entry is a sentence naming what no longer matches
    expect(dynaliteMismatches(installed)).toEqual([]);
  });

  describe('changed by an upgrade', () => {
    // under the project, so that its own dependencies resolve from node_modules as the installed dynalite's do
    const base = path.join(__dirname, '../../dist/test');
    mkdirSync(base, { recursive: true });
    const root = mkdtempSync(path.join(base, 'dynalite-upgrade-'));
    const folder = path.join(root, 'node_modules', 'dynalite');
    cpSync(path.dirname(installed), folder, { recursive: true });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    const edit = (file: string, change: (text: string) => string) =>
      writeFileSync(path.join(folder, file), change(readFileSync(path.join(folder, file), 'utf8')));

    it('is refused, each change it breaks named', () => {
      edit('package.json', (text) => text.replace(`"version": "${DYNALITE_VERSION}"`, '"version": "4.1.0"'));
      // the item written before its index entries: the batch could no longer write it in their place
      edit('actions/putItem.js', (text) => text.replace('db.updateIndexes(store, table, existingItem, data.Item,', 'db.updateIndexes(store, table, existingItem, undefined,'));
      const copy = path.join(folder, 'index.js');
      expect(dynaliteMismatches(copy)).toEqual([
        `dynalite is 4.1.0; local/dynalite-patches.ts was written against ${DYNALITE_VERSION}`,
        'dynalite/actions/putItem.js no longer writes its item after db.updateIndexes as expected',
      ]);
      expect(() => patchDynalite(copy)).toThrow(DynaliteMismatchError);
      expect(() => patchDynalite(copy)).toThrow(/does not match local\/dynalite-patches\.ts:\n- dynalite is 4\.1\.0/);
    });
  });
});
