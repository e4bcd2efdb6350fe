import { NonRetriableError, StateUnavailableError } from '../../../src/errors';
import { isRetriableRedisError, toStateError } from '../../../src/state/redis-errors';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('Redis error classification', () => {
  test.each([
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    [new Error('Connection is closed.')],
    [new Error('Command timed out')],
    [Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' })],
    [Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' })],
    [replyError('LOADING Redis is loading the dataset in memory')],
    [replyError('CLUSTERDOWN The cluster is down')],
    [replyError('OOM command not allowed when used memory > maxmemory')],
  ])('retriable: %s', (error) => {
    expect(isRetriableRedisError(error)).toBe(true);
    const wrapped = toStateError('applyBatch', error);
    expect(wrapped).toBeInstanceOf(StateUnavailableError);
    expect(wrapped.retriable).toBe(true);
    expect(wrapped.cause).toBe(error);
  });

  test.each([
    [replyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    [replyError('ERR user_script:12: attempt to index a nil value')],
    [new Error('something nobody anticipated')],
    ['a string'],
  ])('not retriable: %s', (error) => {
    expect(isRetriableRedisError(error)).toBe(false);
    expect(toStateError('applyBatch', error)).toBeInstanceOf(NonRetriableError);
  });
});
