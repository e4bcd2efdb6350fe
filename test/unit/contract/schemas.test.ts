import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicSchemaFiles } from '../../../src/contract/json-schema';

describe('public schema files', () => {
  it.each(Object.entries(publicSchemaFiles()))('schemas/%s matches src/contract (run `npm run docs` after a change)', (name, text) => {
    expect(readFileSync(join(__dirname, '..', '..', '..', 'schemas', name), 'utf8')).toBe(text);
  });
});
