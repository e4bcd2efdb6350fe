/**
 * Which Redis failures are worth retrying. Only failures known to pass (the server unreachable, restarting, busy,
 * failing over, out of memory) are retriable; anything else (a script bug, a key of the wrong type) is not.
 * Messages name the operation, never a key: keys carry card tokens.
 */
import { CardShieldError, NonRetriableError, StateUnavailableError } from '../errors';

const RETRIABLE_REPLY_PREFIXES = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY', 'NOREPLICAS', 'OOM', 'MOVED', 'ASK'];

const RETRIABLE_CLIENT_MESSAGES = [
  'Connection is closed',
  'Command aborted due to connection close',
  "Stream isn't writeable",
  'Command timed out',
  'Reached the max retries per request limit',
  'None of startup nodes is available',
  'Failed to refresh slots cache',
  'Cluster isn',
  // The slot map moved between grouping a batch by node and sending it.
  'should belong to the same slots allocation group',
];

const RETRIABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

export function isRetriableRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && RETRIABLE_SOCKET_CODES.has(code)) return true;
  if (error.name === 'ReplyError') return RETRIABLE_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix));
  return RETRIABLE_CLIENT_MESSAGES.some((text) => error.message.includes(text));
}

/** Wraps a Redis failure in the service's error family: StateUnavailableError (retriable) or NonRetriableError. */
export function toStateError(operation: string, error: unknown): CardShieldError {
  if (error instanceof CardShieldError) return error;
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (isRetriableRedisError(error)) return new StateUnavailableError(`state ${operation}: Redis unavailable (${detail})`, error);
  return new NonRetriableError(`state ${operation}: Redis refused the command (${detail})`, error);
}
