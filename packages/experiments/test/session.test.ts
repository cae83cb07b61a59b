import { describe, expect, it, vi } from 'vitest';
import { standaloneSession } from '@axiom/runner';
import { sessionPart } from '../src/lib/session.js';

describe('sessionPart', () => {
  it("reports a loop's progress as its share of the group's and passes everything else through", async () => {
    const session = standaloneSession();
    const progress = vi.spyOn(session, 'progress');
    const record = vi.spyOn(session, 'record');
    const part = sessionPart(session, 0.25, 0.75);
    part.progress(0, 'epoch 1/2');
    part.progress(0.5);
    part.progress(1, 'epoch 2/2');
    expect(progress.mock.calls).toEqual([
      [0.25, 'epoch 1/2'],
      [0.5, undefined],
      [0.75, 'epoch 2/2'],
    ]);
    expect(part.record('curve', () => [1, 2])).toEqual([1, 2]);
    expect(record).toHaveBeenCalledOnce();
    expect(await part.beginTraining({ save: () => null, restore: () => {} })).not.toBeNull();
  });
});
