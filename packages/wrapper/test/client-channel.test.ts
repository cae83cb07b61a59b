import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Channel, ClientChannel, HEARTBEAT_GIVEUP_TICKS, PID_CHECK_TICKS, SharedMemory } from '@axiom/wrapper';
import { makeSlot } from './simulated-slot.js';

// The client-gone check as api/boinc_api.cpp's client_dead does it: ticks, not the wall clock.
const status = () => ({ cpuSeconds: 0, checkpointCpuSeconds: 0, fractionDone: 0 });

async function channel(clientPid: number) {
  const slot = await makeSlot({ experiment: 'memorization-dynamics', seed: 1 });
  const client = SharedMemory.open(slot.slotDir);
  const gone = vi.fn();
  const app = new ClientChannel(SharedMemory.open(slot.slotDir), clientPid, status, () => {}, gone);
  /** The client's side: a heartbeat, as it sends one every second. */
  const heartbeat = (extra = '') => client.send(Channel.heartbeat, `<heartbeat/>${extra}`);
  return { app, gone, heartbeat };
}

/** A PID no process has: a child that has exited and been reaped. */
const deadPid = () => spawnSync('true').pid!;

describe('noticing that the client is gone', () => {
  afterEach(() => vi.useRealTimers());

  it('with no PID: gone after 30 ticks without a heartbeat, not before; each heartbeat restarts the count', async () => {
    const { app, gone, heartbeat } = await channel(0);
    for (let tick = 1; tick <= HEARTBEAT_GIVEUP_TICKS; tick++) app.tick();
    expect(gone).not.toHaveBeenCalled();
    heartbeat();
    app.tick(); // reads the heartbeat
    for (let tick = 1; tick <= HEARTBEAT_GIVEUP_TICKS; tick++) app.tick();
    expect(gone).not.toHaveBeenCalled();
    app.tick();
    expect(gone).toHaveBeenCalledOnce();
  });

  it('a wall-clock jump (or a sleeping laptop) between heartbeats is not a missing client', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { app, gone, heartbeat } = await channel(0);
    for (let tick = 0; tick < 5; tick++) {
      heartbeat();
      app.tick();
      vi.setSystemTime(Date.now() + 3_600_000);
    }
    expect(gone).not.toHaveBeenCalled();
  });

  it("with the client's PID: heartbeats are ignored, and the process is checked every 10 ticks", async () => {
    const alive = await channel(process.pid);
    for (let tick = 0; tick < 10 * HEARTBEAT_GIVEUP_TICKS; tick++) alive.app.tick();
    expect(alive.gone, 'no heartbeat at all, but the client process is there').not.toHaveBeenCalled();

    const dead = await channel(deadPid());
    for (let tick = 1; tick < PID_CHECK_TICKS; tick++) dead.app.tick();
    expect(dead.gone).not.toHaveBeenCalled();
    dead.app.tick();
    expect(dead.gone).toHaveBeenCalledOnce();
  });

  it("reads the heartbeat's <suspend_network> flag, which lasts until the next heartbeat", async () => {
    const { app, heartbeat } = await channel(process.pid);
    heartbeat('<suspend_network/>');
    app.tick();
    expect(app.networkSuspended).toBe(true);
    app.tick();
    expect(app.networkSuspended).toBe(true);
    heartbeat();
    app.tick();
    expect(app.networkSuspended).toBe(false);
  });
});
