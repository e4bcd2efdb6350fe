import { Writable } from 'node:stream';
import { createLogger } from '../../../src/telemetry/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  const pan = '4400430000000007';

  it('removes card fields and scrubs PANs from messages, objects and errors', () => {
    const { lines, logger } = capture();
    logger.info({ pan, nested: { pan }, note: `card ${pan}` }, `got ${pan}`);
    logger.error({ err: new Error(`bad card ${pan}`) }, 'failed');
    const text = lines.join('');
    expect(text).not.toContain(pan);
    expect(text).toContain('440043******0007');
    expect(lines).toHaveLength(2);
  });
});
