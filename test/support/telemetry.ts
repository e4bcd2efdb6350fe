import type { Telemetry, TelemetryEventName, TelemetryEvents } from '../../src/telemetry/events';

/** The payload of the next `name` event: tests wait on what the code reports instead of sleeping. */
export function nextEvent<K extends TelemetryEventName>(telemetry: Telemetry, name: K): Promise<TelemetryEvents[K]> {
  return new Promise((resolve) => {
    const off = telemetry.on(name, (payload) => {
      off();
      resolve(payload);
    });
  });
}
