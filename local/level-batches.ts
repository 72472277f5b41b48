/**
 * dynalite 4 writes an item and its index entries as separate LevelDB
 * writes, one after another: the old index entries deleted, the new ones
 * put, then the item. A process killed between two of them leaves the table
 * torn (an item without its index entry, or an entry of a state the item
 * left), which `index-repair.ts` has to mend at the next start; and every
 * write takes one trip through the thread pool for each of them.
 *
 * This makes dynalite write them together: its `updateIndexes`, which
 * PutItem, UpdateItem and DeleteItem (and BatchWriteItem through them) call
 * once they hold the item's lock and have checked its condition, writes the
 * index changes and the item itself in one LevelDB batch, atomic in
 * LevelDB's log; the item write the action makes next is then skipped, as
 * already done. A table with a stream (dynalite-streams.ts) has the record of
 * the change written in that batch too. Source text, called with dynalite's
 * module path.
 */
export const WRITE_ITEMS_WITH_THEIR_INDEXES = `(function writeItemsWithTheirIndexes (dynalitePath) {
  const { createRequire } = require('node:module');
  const db = require(createRequire(dynalitePath).resolve('./db'));
  if (db.updateIndexes.writesItems) return;
  // what dynalite's prefixed sub-databases put before a key (db/index.js getItemDb, getIndexDb)
  const itemPrefix = (table) => 'item-' + table.TableName + '~';
  const indexPrefix = (type, table, index) => 'index-' + type.toLowerCase() + '~' + table.TableName + '~' + index + '~';
  // items put, and keys deleted, by a batch: the action's own write of them comes next, under the same lock
  const put = new WeakSet();
  const deleted = new Set();
  const skipWritesDone = (itemDb, tableName) => {
    if (itemDb.skipsWritesDone) return;
    const putItem = itemDb.put;
    const delItem = itemDb.del;
    itemDb.put = function (key, value, callback) {
      if (put.has(value)) {
        put.delete(value);
        return setImmediate(callback, null);
      }
      return putItem.call(this, key, value, callback);
    };
    itemDb.del = function (key, callback) {
      if (deleted.delete(tableName + '\\u0000' + key)) return setImmediate(callback, null);
      return delItem.call(this, key, callback);
    };
    itemDb.skipsWritesDone = true;
  };
  const writeBatch = function (store, table, existingItem, item, stream, cb) {
    const operations = [];
    for (const type of ['Local', 'Global']) {
      const { puts, deletes } = db.getIndexActions(table[type + 'SecondaryIndexes'] || [], existingItem, item, table);
      for (const action of deletes) operations.push({ type: 'del', key: indexPrefix(type, table, action.index) + action.key });
      for (const action of puts) operations.push({ type: 'put', key: indexPrefix(type, table, action.index) + action.key, value: action.item });
    }
    const key = db.createKey(item || existingItem, table);
    operations.push(item ? { type: 'put', key: itemPrefix(table) + key, value: item } : { type: 'del', key: itemPrefix(table) + key });
    if (stream) operations.push(...stream.operations);
    skipWritesDone(store.getItemDb(table.TableName), table.TableName);
    store.db.batch(operations, (error) => {
      if (stream) stream.written(error);
      if (!error) {
        if (item) put.add(item);
        else deleted.add(table.TableName + '\\u0000' + key);
      }
      cb(error);
    });
  };
  const updateIndexes = function (store, table, existingItem, item, cb) {
    if (!existingItem && !item) return cb();
    // a table with a stream (dynalite-streams.ts): the change's record goes in the same batch
    const streams = db.tableStreams;
    if (!streams || !streams.enabled(table)) return writeBatch(store, table, existingItem, item, undefined, cb);
    streams.recordOf(store, table, existingItem, item, (error, stream) => {
      if (error) return cb(error);
      writeBatch(store, table, existingItem, item, stream, cb);
    });
  };
  updateIndexes.writesItems = true;
  db.updateIndexes = updateIndexes;
})`;
