import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withGeneratedSections } from '../../../src/config/docs';

describe('README generated sections', () => {
  it('match the config schema and the message contract (run `npm run docs` after a change)', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    expect(withGeneratedSections(readme)).toBe(readme);
  });
});
