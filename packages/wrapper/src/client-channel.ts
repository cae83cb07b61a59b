import { Channel, SharedMemory } from './shared-memory.js';

export type ControlMessage = 'suspend' | 'resume' | 'quit' | 'abort';

export interface Status {
  /** Total CPU seconds of the task, including earlier runs (`wu_cpu_time`). */
  cpuSeconds: number;
  checkpointCpuSeconds: number;
  fractionDone: number;
}

/**
 * How the standard API (api/boinc_api.cpp, client_dead) notices that the client is gone, counted in timer
 * ticks (one a second here), never on the wall clock, so a clock jump or a laptop's sleep kills nothing:
 * with the client's PID (init_data.xml) it only checks that this process exists, every 10 ticks, and
 * ignores heartbeats; without a PID, 30 ticks without a heartbeat mean the client is gone.
 */
export const PID_CHECK_TICKS = 10;
export const HEARTBEAT_GIVEUP_TICKS = 30;
/** The final status gets as long as boinc_finish gives it: 2 s. */
const FINAL_STATUS_ATTEMPTS = 20;
const FINAL_STATUS_INTERVAL_MS = 100;

/** kill(pid, 0) failing with ESRCH, as the API tests it: EPERM means the process exists. */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The client sets `<suspend_network>` in the heartbeat while the volunteer has network activity suspended (parse_bool: bare tag or 1). */
const NETWORK_SUSPENDED = /<suspend_network\/>|<suspend_network>\s*1\s*<\/suspend_network>/;

/**
 * Once a second: reads the client's heartbeat and control requests, and sends the app's status
 * (CPU time, checkpoint CPU time, fraction done), as the BOINC API's timer thread does.
 */
export class ClientChannel {
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private heartbeatGiveupTick = HEARTBEAT_GIVEUP_TICKS;
  private clientGone = false;
  /** As of the last heartbeat: the volunteer has suspended network activity, so the app must not use it. */
  networkSuspended = false;
  private heartbeatSeen = false;
  private networkWaiters: Array<() => void> = [];

  constructor(
    private readonly memory: SharedMemory,
    private readonly clientPid: number,
    private readonly status: () => Status,
    private readonly onControl: (message: ControlMessage) => void,
    private readonly onClientGone: () => void,
  ) {}

  start(intervalMs = 1000): void {
    this.poll();
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  /** One timer tick: a round of the protocol, then the check that the client is still there. */
  tick(): void {
    this.ticks++;
    this.poll();
    if (!this.clientGone && this.clientDead()) {
      this.clientGone = true;
      this.onClientGone();
    }
  }

  private clientDead(): boolean {
    if (this.clientPid > 0) return this.ticks % PID_CHECK_TICKS === 0 && processGone(this.clientPid);
    return this.ticks > this.heartbeatGiveupTick;
  }

  /**
   * Hands the final status to the client before the app finishes. The client reads the status channel
   * once a second and a message goes only into an empty channel, so an exit right after one poll can lose
   * it: boinc_finish_message sleeps 2 s for the timer thread to send it and the client to read it. Here:
   * until the client has taken it, at most 2 s.
   */
  async sendFinalStatus(): Promise<void> {
    let sent = false;
    for (let attempt = 0; attempt < FINAL_STATUS_ATTEMPTS; attempt++) {
      if (!sent) sent = this.sendStatus();
      else if (!this.memory.hasUnread(Channel.appStatus)) return;
      await new Promise((resolve) => setTimeout(resolve, FINAL_STATUS_INTERVAL_MS));
    }
  }

  private sendStatus(): boolean {
    const { cpuSeconds, checkpointCpuSeconds, fractionDone } = this.status();
    return this.memory.send(
      Channel.appStatus,
      `<current_cpu_time>${cpuSeconds.toExponential(6)}</current_cpu_time>\n` +
        `<checkpoint_cpu_time>${checkpointCpuSeconds.toExponential(6)}</checkpoint_cpu_time>\n` +
        `<fraction_done>${fractionDone.toExponential(6)}</fraction_done>\n`,
    );
  }

  /**
   * Resolves once a heartbeat has said that network activity is allowed: BOINC apps hold off using the
   * network while `boinc_status.network_suspended` is set (api/boinc_api.cpp takes it from the heartbeat).
   */
  networkAllowed(): Promise<void> {
    return new Promise((resolve) => {
      this.networkWaiters.push(resolve);
      this.releaseNetworkWaiters();
    });
  }

  private releaseNetworkWaiters(): void {
    if (!this.heartbeatSeen || this.networkSuspended) return;
    for (const resolve of this.networkWaiters.splice(0)) resolve();
  }

  /** One round of the protocol; public so the last status before a quit is sent. */
  poll(): void {
    const heartbeat = this.memory.receive(Channel.heartbeat);
    if (heartbeat !== undefined) {
      this.networkSuspended = NETWORK_SUSPENDED.test(heartbeat);
      this.heartbeatSeen = true;
      if (heartbeat.includes('<heartbeat/>')) this.heartbeatGiveupTick = this.ticks + HEARTBEAT_GIVEUP_TICKS;
      this.releaseNetworkWaiters();
    }
    const request = this.memory.receive(Channel.processControlRequest);
    for (const message of ['abort', 'quit', 'suspend', 'resume'] as const) {
      if (request?.includes(`<${message}/>`)) this.onControl(message);
    }
    this.sendStatus();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
