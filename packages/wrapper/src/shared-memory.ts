import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The client ⇄ app message channels (lib/app_ipc.h `SHARED_MEM`): 8 channels of 1024 bytes in a
 * memory-mapped file in the slot. Byte 0 of a channel is the "unread message" flag, bytes 1..1023 a
 * NUL-terminated message. Positioned reads and writes on the file see the client's mapping (same pages).
 */
export const MMAP_FILE = 'boinc_mmap_file';
export const CHANNEL_SIZE = 1024;
export const Channel = {
  processControlRequest: 0,
  processControlReply: 1,
  graphicsRequest: 2,
  graphicsReply: 3,
  heartbeat: 4,
  appStatus: 5,
  trickleUp: 6,
  trickleDown: 7,
} as const;
export type ChannelIndex = (typeof Channel)[keyof typeof Channel];

export class SharedMemory {
  private readonly buffer = Buffer.alloc(CHANNEL_SIZE);

  private constructor(private readonly fd: number) {}

  static open(slotDir: string): SharedMemory {
    return new SharedMemory(openSync(join(slotDir, MMAP_FILE), 'r+'));
  }

  /** Takes the unread message on a channel, if any, and marks it read. */
  receive(channel: ChannelIndex): string | undefined {
    const offset = channel * CHANNEL_SIZE;
    readSync(this.fd, this.buffer, 0, CHANNEL_SIZE, offset);
    if (this.buffer[0] === 0) return undefined;
    const end = this.buffer.indexOf(0, 1);
    const message = this.buffer.toString('utf8', 1, end === -1 ? CHANNEL_SIZE : end);
    writeSync(this.fd, Buffer.of(0), 0, 1, offset);
    return message;
  }

  /** Whether the channel holds a message its reader has not taken yet. */
  hasUnread(channel: ChannelIndex): boolean {
    readSync(this.fd, this.buffer, 0, 1, channel * CHANNEL_SIZE);
    return this.buffer[0] !== 0;
  }

  /** Sends a message unless the previous one is still unread (then returns false, as the C API does). */
  send(channel: ChannelIndex, message: string): boolean {
    const offset = channel * CHANNEL_SIZE;
    readSync(this.fd, this.buffer, 0, 1, offset);
    if (this.buffer[0] !== 0) return false;
    const bytes = Buffer.from(`${message}\0`, 'utf8');
    if (bytes.length > CHANNEL_SIZE - 1) throw new RangeError(`message of ${bytes.length} bytes does not fit a ${CHANNEL_SIZE}-byte channel`);
    writeSync(this.fd, bytes, 0, bytes.length, offset + 1);
    writeSync(this.fd, Buffer.of(1), 0, 1, offset); // the flag last, so the reader never sees half a message
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
