import type { TrainingSession } from '@axiom/runner';

/**
 * The group's session as one of several training loops that run one after another in the group (e.g. end
 * points, then the curves between them; or pruning rounds): its progress, 0..1, is reported as the share
 * `start`..`end` of the group's, so the group's progress moves on through every loop instead of stalling
 * after the first. Everything else is the session's own.
 */
export function sessionPart(session: TrainingSession, start: number, end: number): TrainingSession {
  return {
    progress: (fraction, detail) => session.progress(start + fraction * (end - start), detail),
    tick: () => session.tick(),
    record: (name, initial) => session.record(name, initial),
    beginTraining: (state) => session.beginTraining(state),
  };
}
