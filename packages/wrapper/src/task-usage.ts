import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks on every architecture. */
const TICKS_PER_SECOND = 100;

/** utime + stime (seconds) and resident pages of a process, from /proc; undefined once it has gone. */
function procStat(pid: number): { cpuSeconds: number; residentPages: number } | undefined {
  try {
    // "pid (comm) state ppid …": comm may hold spaces, so the fields are counted after its ')'.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, residentPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU time and resident memory of the task: this process plus the processes it started to compute (a
 * fetched script's sandbox), as the BOINC client accounts a task. Children are read from /proc (Linux);
 * elsewhere only this process counts.
 */
export class TaskUsage {
  /** Each child's CPU seconds when last seen: a child's time leaves /proc with it, but not the task's total. */
  private readonly childCpu = new Map<number, number>();

  addChild(pid: number): void {
    this.childCpu.set(pid, 0);
  }

  cpuSeconds(): number {
    for (const pid of this.childCpu.keys()) {
      const stat = procStat(pid);
      if (stat) this.childCpu.set(pid, stat.cpuSeconds);
    }
    const own = process.cpuUsage();
    return (own.user + own.system) / 1e6 + [...this.childCpu.values()].reduce((sum, seconds) => sum + seconds, 0);
  }

  residentBytes(): number {
    const own = process.memoryUsage.rss();
    const ownPages = procStat(process.pid)?.residentPages;
    // The page size from our own two readings: 4 KiB on x86, up to 64 KiB on ARM.
    const pageSize = ownPages ? 2 ** Math.round(Math.log2(own / ownPages)) : 4096;
    let children = 0;
    for (const pid of this.childCpu.keys()) children += (procStat(pid)?.residentPages ?? 0) * pageSize;
    return own + children;
  }
}
