/**
 * DynamoDB counts an item's size, against its 400 KB limit, in UTF-8 bytes
 * of every attribute name and string; dynalite 4 counts their JavaScript
 * length, UTF-16 code units, so a string of 140,000 '€' (420,000 bytes)
 * passes locally and is refused on AWS. This makes dynalite's `itemSize`,
 * which PutItem, UpdateItem and BatchWriteItem check against the limit,
 * count UTF-8 bytes as DynamoDB does; numbers, binaries and the compressed
 * sizes of its Query and Scan limits keep dynalite's own reckoning. Source
 * text, called with dynalite's module path.
 */
export const COUNT_ITEM_SIZES_IN_UTF8 = `(function countItemSizesInUtf8 (dynalitePath) {
  const { createRequire } = require('node:module');
  const db = require(createRequire(dynalitePath).resolve('./db'));
  if (db.itemSize.countsUtf8) return;
  const dynaliteSize = db.itemSize;
  const utf8 = (text) => Buffer.byteLength(text, 'utf8');
  // a number's size, or any value without strings in it, as dynalite has it: less the one-letter name
  const asDynalite = (value) => dynaliteSize({ x: value }) - 1;
  const valueSize = (value) => {
    if (value.S !== undefined) return utf8(value.S);
    if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
    if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
    if (value.M !== undefined) return 3 + Object.keys(value.M).length + itemSize(value.M);
    return asDynalite(value);
  };
  const itemSize = (item) => Object.keys(item).reduce((sum, name) => sum + utf8(name) + valueSize(item[name]), 0);
  db.itemSize = function (item, compress, addMetaSize) {
    return compress || addMetaSize ? dynaliteSize.apply(this, arguments) : itemSize(item);
  };
  db.itemSize.countsUtf8 = true;
})`;
