import type { Lane, TraceEvent, TraceSink } from '../shared/index.js';

/**
 * A TraceSink that keeps the events of the current step: the recorder attaches one while
 * replaying or rendering and calls `take()` after each command to fill `TraceStep.events`.
 */
export class TraceEventLog implements TraceSink {
  private current: TraceEvent[] = [];

  event(lane: Lane, actor: string, text: string): void {
    this.current.push({ lane, actor, text });
  }

  /** The events since the last call, oldest first. */
  take(): TraceEvent[] {
    const out = this.current;
    this.current = [];
    return out;
  }
}
