import { Channel, SharedMemory } from './shared-memory.js';

export type ControlMessage = 'suspend' | 'resume' | 'quit' | 'abort';

export interface Status {
  /** Total CPU seconds of the task, including earlier runs (`wu_cpu_time`). */
  cpuSeconds: number;
  checkpointCpuSeconds: number;
  fractionDone: number;
}

/**
 * The standard API (api/boinc_api.cpp) exits when the client's process is gone, or after 30 s without
 * a heartbeat. Both are checked: a killed client may linger as a zombie that still answers kill(pid, 0).
 */
export const HEARTBEAT_GIVEUP_MS = 30_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Once a second: reads the client's heartbeat and control requests, and sends the app's status
 * (CPU time, checkpoint CPU time, fraction done), as the BOINC API's timer thread does.
 */
export class ClientChannel {
  private timer: NodeJS.Timeout | undefined;
  private lastHeartbeat = Date.now();
  private clientGone = false;

  constructor(
    private readonly memory: SharedMemory,
    private readonly clientPid: number,
    private readonly status: () => Status,
    private readonly onControl: (message: ControlMessage) => void,
    private readonly onClientGone: () => void,
  ) {}

  start(intervalMs = 1000): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  /** One round of the protocol; public so the final status can be sent before exit. */
  poll(): void {
    if (this.memory.receive(Channel.heartbeat) !== undefined) this.lastHeartbeat = Date.now();
    const request = this.memory.receive(Channel.processControlRequest);
    for (const message of ['abort', 'quit', 'suspend', 'resume'] as const) {
      if (request?.includes(`<${message}/>`)) this.onControl(message);
    }
    const { cpuSeconds, checkpointCpuSeconds, fractionDone } = this.status();
    this.memory.send(
      Channel.appStatus,
      `<current_cpu_time>${cpuSeconds.toExponential(6)}</current_cpu_time>\n` +
        `<checkpoint_cpu_time>${checkpointCpuSeconds.toExponential(6)}</checkpoint_cpu_time>\n` +
        `<fraction_done>${fractionDone.toExponential(6)}</fraction_done>\n`,
    );
    const silent = Date.now() - this.lastHeartbeat > HEARTBEAT_GIVEUP_MS;
    if (!this.clientGone && (silent || (this.clientPid > 0 && !processAlive(this.clientPid)))) {
      this.clientGone = true;
      this.onClientGone();
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
