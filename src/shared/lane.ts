/**
 * Lanes of a trace's sequence diagram. The impl and hw emit events into a TraceSink only when
 * one is attached (replay, show); on the hot path the sink is undefined and costs one branch.
 */
export type Lane = 'cpu' | 'core' | 'driver' | 'queue' | 'cache' | 'device';
export const LANES: readonly Lane[] = ['cpu', 'core', 'driver', 'queue', 'cache', 'device'];

export interface TraceEvent {
  readonly lane: Lane;
  /** Who emitted it: `mm1`, `sva`, `intel-svm`, `vtd0`, `dev2`. */
  readonly actor: string;
  readonly text: string;
}

export interface TraceSink {
  event(lane: Lane, actor: string, text: string): void;
}
