import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import { AxiomError } from './errors.js';
import { writeAtomicOrExplain } from './files.js';
import type { CheckpointStore } from './host.js';
import type { Checkpoint } from './schemas.js';

/**
 * A checkpoint file: 8 bytes of magic, the SHA-256 of the payload, then the payload, the checkpoint in
 * V8's structured-clone encoding (typed arrays as raw bytes, so tensors cost 4 bytes a weight, and
 * non-finite numbers survive). The checksum turns a torn or altered file into a clear refusal.
 */
const MAGIC = Buffer.from('AXIOMCK1', 'latin1');
const HEADER_BYTES = MAGIC.length + 32;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const payload = serialize(checkpoint);
  return Buffer.concat([MAGIC, sha256(payload), payload]);
}

/** The checkpoint in `bytes`, unvalidated (the runner checks it against its schema and its run); `where` names the file in errors. */
export function decodeCheckpoint(bytes: Buffer, where: string): unknown {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new AxiomError(
      'badCheckpoint',
      `${where} is not an Axiom checkpoint (no ${MAGIC.toString('latin1')} header): a foreign file, or one from an older worker`,
    );
  }
  const payload = bytes.subarray(HEADER_BYTES);
  if (!sha256(payload).equals(bytes.subarray(MAGIC.length, HEADER_BYTES))) {
    throw new AxiomError('badCheckpoint', `${where} is corrupt: its checksum does not match its ${payload.length} bytes (torn or altered)`);
  }
  try {
    return deserialize(payload);
  } catch (error) {
    throw new AxiomError('badCheckpoint', `${where} is corrupt: ${(error as Error).message}`);
  }
}

/** A checkpoint kept as one file, replaced atomically, so a kill never leaves half of one. */
export function fileCheckpointStore(path: string, periodSeconds?: number): CheckpointStore {
  return {
    periodSeconds,
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new AxiomError('badCheckpoint', `cannot read checkpoint ${path}: ${(error as Error).message}`);
      }
      return decodeCheckpoint(bytes, `checkpoint ${path}`);
    },
    save: (checkpoint) => writeAtomicOrExplain(path, encodeCheckpoint(checkpoint), 'checkpoint'),
    clear: () => rm(path, { force: true }),
  };
}
