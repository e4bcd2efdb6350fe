/** Telemetry both stores emit, so the in-memory and Redis stores report the same events. */
import type { Telemetry } from '../telemetry/events';
import { ReturnCode } from './codes';
import type { LabelOutcome } from './store';
import type { LabelCode } from './twin';

/** One entity's update of one transaction: too old or duplicate is reported, applied is not. */
export function reportUpdate(telemetry: Telemetry, entity: string, code: ReturnCode): void {
  if (code === ReturnCode.TooOld) telemetry.emit('state.too_old', { entity });
  else if (code === ReturnCode.Duplicate) telemetry.emit('state.duplicate', { entity });
}

export function labelOutcomeOf(code: LabelCode): LabelOutcome['outcome'] {
  switch (code) {
    case ReturnCode.LabelApplied:
      return 'applied';
    case ReturnCode.LabelDuplicate:
      return 'duplicate';
    case ReturnCode.LabelChanged:
      return 'changed';
    case ReturnCode.LabelUnknownTransaction:
      return 'unknown_transaction';
  }
}
