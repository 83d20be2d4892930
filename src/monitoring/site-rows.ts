import type { SqliteDatabase } from '../common/sqlite.ts';
import type { MonitoringEvent } from './events.ts';
import { formatTime } from './schema.ts';

/** The events about where tasks run rather than about tasks: blocks, nodes and resource samples. */
export type SiteEvent = Extract<MonitoringEvent, { type: 'block' | 'node' | 'resource' }>;

const n = (value: number | undefined): number | null => (value === undefined ? null : value);

/**
 * Writes Parsl's `block`, `node` and `resource` rows, one statement per event (an HTEX block
 * sends a few per second, not per task). Returns the function that writes one event.
 */
export function siteRowWriter(db: SqliteDatabase): (e: SiteEvent) => void {
  const blockInsert = db.prepare(
    `INSERT OR IGNORE INTO block (run_id, executor_label, block_id, job_id, timestamp, status) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const nodeInsert = db.prepare(
    `INSERT INTO node (run_id, hostname, uid, block_id, cpu_count, total_memory, active, worker_count, python_v, timestamp,
     last_heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const resourceInsert = db.prepare(
    `INSERT OR IGNORE INTO resource (try_id, task_id, run_id, timestamp, resource_monitoring_interval, psutil_process_pid,
     psutil_process_cpu_percent, psutil_process_memory_percent, psutil_process_children_count, psutil_process_time_user,
     psutil_process_time_system, psutil_process_memory_virtual, psutil_process_memory_resident, psutil_process_disk_read,
     psutil_process_disk_write, psutil_process_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return (e) => {
    switch (e.type) {
      case 'block':
        blockInsert.run(e.runId, e.executor, e.blockId, e.jobId ?? null, formatTime(e.time), e.status);
        return;
      case 'node':
        nodeInsert.run(
          e.runId, e.hostname, e.uid, e.blockId, e.cpuCount, Math.round(e.totalMemory), e.active ? 1 : 0, e.workerCount,
          e.runtimeVersion, formatTime(e.time), formatTime(e.lastHeartbeat ?? e.time),
        );
        return;
      case 'resource':
        resourceInsert.run(
          e.tryId, e.taskId, e.runId, formatTime(e.time), e.intervalMs === undefined ? null : e.intervalMs / 1000, n(e.pid),
          n(e.cpuPercent), n(e.memoryPercent), n(e.childrenCount), n(e.timeUser), n(e.timeSystem), n(e.memoryVirtual),
          n(e.memoryResident), n(e.diskRead), n(e.diskWrite), e.status ?? null,
        );
        return;
    }
  };
}
