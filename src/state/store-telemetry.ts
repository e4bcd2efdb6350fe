/** Telemetry both stores emit, so the in-memory and Redis stores report the same events. */
import type { Telemetry } from '../telemetry/events';
import { ReturnCode } from './codes';
import type { TransactionUpdates } from './features';
import type { LabelOutcome } from './store';
import type { LabelCode } from './twin';

export function reportUpdates(telemetry: Telemetry, updates: TransactionUpdates): void {
  const tooOld = telemetry.observed('state.too_old');
  const duplicate = telemetry.observed('state.duplicate');
  if (!tooOld && !duplicate) return;
  for (const [entity, update] of Object.entries(updates)) {
    if (update === undefined) continue;
    if (tooOld && update.code === ReturnCode.TooOld) telemetry.emit('state.too_old', { entity });
    if (duplicate && update.code === ReturnCode.Duplicate) telemetry.emit('state.duplicate', { entity });
  }
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
