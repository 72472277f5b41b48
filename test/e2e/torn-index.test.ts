import { openStoredTable } from '../support/dynalite-files';
import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir } from '../support/local-runtime';

// dynalite 4 writes an item and its index entries one LevelDB write after the
// other, so a kill -9 could land between them in a folder an older requeue
// wrote (the runtime now has them written in one batch, local/level-batches.ts).
// The files are torn here by hand, as such a kill tore them, and the next
// start must mend them: else a job
// left `active` without its byState entry is never found again by the
// start-up re-send or the reconciler, and a failed job missing from its
// indexes is never listed nor retried.

const TABLE = 'requeue-jobs';
const { dataDir, start } = runtimesOnOneDataDir({ REQUEUE_VISIBILITY_TIMEOUT: '4', REQUEUE_WORKER_CONCURRENCY: '1' });

it('mends index entries a kill -9 tore from their items, and every job is found again', async () => {
  const first = await start();
  const failing = (await first.request('POST', '/jobs', { name: 'demo.fail', opts: { attempts: 1, jobId: 'torn-failed' } })).body;
  await eventually(
    async () => (await first.request('GET', `/jobs/details/${failing.id}`)).body.state === 'failed',
    10_000,
    'the failing job to fail',
  );
  const running = (
    await first.request('POST', '/jobs', { name: 'demo.sleep', data: { ms: 1500 }, opts: { timeout: 3000, jobId: 'torn-active' } })
  ).body;
  await eventually(
    async () => (await first.request('GET', `/jobs/details/${running.id}`)).body.state === 'active',
    10_000,
    'the sleeping job to run',
  );
  await first.kill();
  expect(first.output()).not.toContain('without a clean stop');

  const files = await openStoredTable(dataDir, TABLE);
  const active = await files.item({ pk: `JOB#${running.id}`, sk: 'JOB' });
  const failed = await files.item({ pk: `JOB#${failing.id}`, sk: 'JOB' });
  expect([active.state, failed.state]).toEqual([{ S: 'active' }, { S: 'failed' }]);
  // active → completed cut short after the index writes: the old entry deleted, the new one put, the item not
  await files.deleteIndexEntry('byState', active);
  await files.putIndexEntry('byState', { ...active, state: { S: 'completed' }, gsi1pk: { S: 'STATE#completed' } });
  // active → failed cut short: one index has the new entry, the other an older version of the item
  await files.putIndexEntry('byState', { ...failed, error: { S: 'an older version' } });
  await files.deleteIndexEntry('failedByName', failed);
  await files.close();

  const second = await start();
  expect(second.output()).toContain('The last run ended without a clean stop: checking the job table against its indexes');
  expect(second.output()).toMatch(/Checked the index entries of \d+ item\(s\): 2 missing, 1 stray, 1 outdated; all mended/);
  // the job the kill caught running is re-sent, runs again and completes
  await eventually(
    async () => (await second.request('GET', `/jobs/details/${running.id}`)).body.state === 'completed',
    30_000,
    'the torn active job to complete',
  );
  // the failed job is listed again, by state and by name, and counted once
  for (const query of ['', '?name=demo.fail']) {
    const page = await second.request('GET', `/jobs/failed${query}`);
    expect(page.body).toEqual([expect.objectContaining({ id: failing.id, error: 'Job failed' })]);
  }
  // the counts follow the table's stream a moment behind
  await eventually(async () => {
    const m = (await second.request('GET', '/jobs/metrics')).body;
    return m.completed === 1 && m.failed === 1 && m.active === 0 && m.waiting === 0 && m.total === 2;
  }, 10_000, 'one completed and one failed job counted');

  // while it runs, its marker is there too: a second runtime on the folder is told it is in use, and touches nothing
  await expect(start()).rejects.toThrow(/exited with code 1 before it was ready[^]*The data folder \S+ is in use by another requeue/);
  expect((await second.request('GET', '/jobs/metrics')).body).toMatchObject({ completed: 1, failed: 1, total: 2 });

  // a clean stop leaves nothing to mend
  await second.interrupt();
  const third = await start();
  expect(third.output()).not.toContain('without a clean stop');
  await third.kill();
}, 90_000);
