/**
 * What the hardware saw during one step. Placeholder shape; the hardware-invariants work owns
 * this file and extends it (attach to the units' submit/sync observers).
 */
export interface StepProbe {
  /** Start a new step: forget what the previous step recorded. */
  begin(): void;
}
