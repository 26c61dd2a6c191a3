/** A step did not go as its script says; the message names the step and what was awaited. */
export class StepFailure extends Error {
  override name = 'StepFailure';
}
