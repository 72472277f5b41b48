/**
 * dynalite 4 reads LevelDB through streams over abstract-level iterators and
 * closes an iterator, when its stream ends or is destroyed, by calling
 * `iterator.return()`, which abstract-level 3 iterators lack: every Query and
 * Scan left its LevelDB iterator open until the database closed. An open
 * iterator pins the memtable and the table files it started on, so the
 * process kept every table file LevelDB ever wrote, mapped into memory, and
 * old memtables besides (40,000 jobs: 430 MB of table files on disk for 46 MB
 * of data, RSS 112 -> 718 MB). This gives the iterators of dynalite's own
 * abstract-level that `return()`, and closes an iterator once it has read
 * its last entry. Source text, called with dynalite's module path.
 */
export const CLOSE_LEVEL_ITERATORS = `(function closeLevelIterators (dynalitePath) {
  const { createRequire } = require('node:module');
  // abstract-level as dynalite loads it: dynalite -> level -> classic-level -> abstract-level
  const from = (path, name) => createRequire(path).resolve(name);
  const { AbstractValueIterator } = require(from(from(from(dynalitePath, 'level'), 'classic-level'), 'abstract-level'));
  const iterator = Object.getPrototypeOf(AbstractValueIterator.prototype);
  if (typeof iterator.return === 'function') return;
  iterator.return = async function () {
    await this.close();
    return { done: true, value: undefined };
  };
  const next = iterator.next;
  iterator.next = async function () {
    const entry = await next.call(this);
    if (entry === undefined) await this.close();
    return entry;
  };
})`;
