/**
 * One error family for the whole service, after kafkajs' src/errors.js. The consumer decides retry, dead-letter or
 * crash from `retriable` alone, so every error we raise says which it is; unknown errors are treated as not retriable.
 */
export class CardShieldError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CardShieldError';
    this.retriable = options.retriable;
  }
}

/** A failure that will happen again on retry (bad data, bad configuration, a bug): do not retry. */
export class NonRetriableError extends CardShieldError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
    this.name = 'NonRetriableError';
  }
}

/** Bad configuration: the process must not start. The message is the one line the operator sees. */
export class ConfigError extends NonRetriableError {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The state store (Redis) could not be reached or timed out; nothing was applied partially. Retry later. */
export class StateUnavailableError extends CardShieldError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
    this.name = 'StateUnavailableError';
  }
}

/** A broker error on produce or commit; the work is not acknowledged and must be retried. */
export class BrokerError extends CardShieldError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
    this.name = 'BrokerError';
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof CardShieldError && error.retriable;
}
