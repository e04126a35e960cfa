import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** Memory of a live process from /proc/<pid>/status (Linux), in MiB. */
export interface ProcessMemory {
  /** VmHWM: the peak resident set size since the process started. */
  peak_rss_mb: number;
  /** VmRSS: the resident set size now. */
  rss_mb: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return { peak_rss_mb: kib("VmHWM") / 1024, rss_mb: kib("VmRSS") / 1024 };
}

/** Clock ticks per second for /proc times: USER_HZ, 100 on every Linux this runs on. */
const USER_HZ = 100;

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, so 11 and 12 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/**
 * CPU seconds used so far by every process named `comm` (such as PostgreSQL's `postgres`
 * backends), keyed by pid: a process that started meanwhile counts from zero, one that ended is
 * missed, which is close enough for a pool of long-lived connections.
 */
export function cpuSecondsByName(comm: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) {
        found.set(Number(entry), processCpuSeconds(Number(entry)));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Busy and total jiffies of the whole machine, from /proc/stat: diff two to get utilisation. */
export interface MachineCpu {
  busy: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  // idle and iowait are the 4th and 5th values.
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * A window over which CPU use is measured: the server's, this (load-generating) process's, the
 * database's and the rest of the machine's, each as a percentage of one core. On a shared
 * 2-core machine "rest" is whatever else ran meanwhile, so a busy neighbour shows up.
 */
export class CpuWindow {
  private readonly startCpu: number;
  private readonly startMachine: MachineCpu;
  private readonly startSelf = process.cpuUsage();
  private readonly startTime = process.hrtime.bigint();
  private readonly startDb: Map<number, number>;

  constructor(
    private readonly pid: number,
    /** The database server's process name, when it is a separate process (PostgreSQL). */
    private readonly dbComm?: string,
  ) {
    this.startCpu = processCpuSeconds(pid);
    this.startMachine = machineCpu();
    this.startDb = dbComm ? cpuSecondsByName(dbComm) : new Map();
  }

  end(): CpuUse {
    const seconds = Number(process.hrtime.bigint() - this.startTime) / 1e9;
    const machine = machineCpu();
    const total = machine.total - this.startMachine.total;
    const machineCores = total > 0 ? ((machine.busy - this.startMachine.busy) / total) * cpus().length : 0;
    const self = process.cpuUsage(this.startSelf);
    const server = ((processCpuSeconds(this.pid) - this.startCpu) / seconds) * 100;
    const bench = ((self.user + self.system) / 1e6 / seconds) * 100;
    let dbSeconds = 0;
    if (this.dbComm) {
      for (const [pid, used] of cpuSecondsByName(this.dbComm))
        dbSeconds += used - (this.startDb.get(pid) ?? 0);
    }
    const db = (dbSeconds / seconds) * 100;
    return {
      server_cpu_pct: server,
      bench_cpu_pct: bench,
      db_cpu_pct: db,
      rest_cpu_pct: Math.max(0, machineCores * 100 - server - bench - db),
      machine_cpu_pct: (machineCores / cpus().length) * 100,
    };
  }
}

export interface CpuUse {
  /** The measured server process, % of one core. */
  server_cpu_pct: number;
  /** The bench process (autocannon), % of one core. */
  bench_cpu_pct: number;
  /** The database server's processes (PostgreSQL; 0 for SQLite, which runs inside the server). */
  db_cpu_pct: number;
  /** Everything else on the machine (neighbours), % of one core. */
  rest_cpu_pct: number;
  /** The whole machine's busy share, % of all its cores. */
  machine_cpu_pct: number;
}

/** How long the bench may wait, in all, for neighbours to quiet down: it must still end. */
export class QuietGate {
  private waitedMs = 0;

  constructor(
    /** Busy share of the whole machine (%) under which it counts as quiet. */
    private readonly maxBusyPct: number,
    private readonly perWaitMs: number,
    private readonly totalBudgetMs: number,
    private readonly onWait: (busyPct: number) => void,
  ) {}

  get waited_s(): number {
    return this.waitedMs / 1000;
  }

  /**
   * Waits, polling every half second, until the machine is quiet or this wait's or the run's
   * budget is spent. Other work on a shared 2-core machine would otherwise land in one side's
   * round and not the other's. Returns the busy share last seen.
   */
  async wait(): Promise<number> {
    const deadline = Date.now() + Math.min(this.perWaitMs, this.totalBudgetMs - this.waitedMs);
    let told = false;
    for (;;) {
      const before = machineCpu();
      await new Promise((done) => setTimeout(done, 500));
      const after = machineCpu();
      const total = after.total - before.total;
      const busy = total > 0 ? ((after.busy - before.busy) / total) * 100 : 0;
      if (busy < this.maxBusyPct || Date.now() >= deadline) return busy;
      if (!told) this.onWait(busy);
      told = true;
      this.waitedMs += 500;
    }
  }
}

/**
 * CPU seconds used so far by a process and all its descendants (an nginx master and its worker,
 * a cluster primary and its workers), from /proc: a descendant that ended meanwhile is missed.
 */
export function processTreeCpuSeconds(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The parent's pid is the second field after the command name's closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let seconds = 0;
  const queue = [rootPid];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    try {
      seconds += processCpuSeconds(pid);
    } catch {
      // Ended meanwhile.
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return seconds;
}
