import { Channel, SharedMemory } from './shared-memory.js';

export type ControlMessage = 'suspend' | 'resume' | 'quit' | 'abort';

export interface Status {
  /** Total CPU seconds of the task, including earlier runs (`wu_cpu_time`). */
  cpuSeconds: number;
  checkpointCpuSeconds: number;
  fractionDone: number;
}

/** The standard API gives up on a silent client after 30 s, if the client process is gone too (api/boinc_api.cpp). */
export const HEARTBEAT_GIVEUP_MS = 30_000;

function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
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
    if (Date.now() - this.lastHeartbeat > HEARTBEAT_GIVEUP_MS && !processAlive(this.clientPid)) this.onClientGone();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
