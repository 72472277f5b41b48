import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The worker's event source mapping as the local runtime keeps it in its data
 * folder: its UUID and whether it is enabled. On AWS the mapping keeps both
 * itself; here a pause made through the API outlives a restart the same way.
 */
export interface WorkerMappingRecord {
  readonly uuid: string;
  readonly enabled: boolean;
}

export const workerMappingFile = (dataDir: string): string => path.join(dataDir, 'worker-event-source.json');

/** The record kept, or a new enabled mapping when there is none (or none readable). */
export const readWorkerMapping = (file: string): WorkerMappingRecord => {
  if (existsSync(file)) {
    try {
      const kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<WorkerMappingRecord>;
      if (typeof kept.uuid === 'string' && typeof kept.enabled === 'boolean') return { uuid: kept.uuid, enabled: kept.enabled };
    } catch {
      // a file torn by a kill: begin afresh, enabled, as a new mapping begins
    }
  }
  return { uuid: randomUUID(), enabled: true };
};

/** Written whole and renamed into place: a kill leaves the old record or the new one. */
export const writeWorkerMapping = (file: string, record: WorkerMappingRecord): void => {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  renameSync(`${file}.tmp`, file);
};
