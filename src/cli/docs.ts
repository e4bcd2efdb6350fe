/**
 * `npm run docs`: regenerates everything derived from the code's definitions — the public JSON Schema files in
 * schemas/ (from src/contract/schemas.ts) and the README's generated sections (configuration table, contract).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withGeneratedSections } from '../config/docs';
import { publicSchemaFiles } from '../contract/json-schema';

const root = join(__dirname, '..', '..');
mkdirSync(join(root, 'schemas'), { recursive: true });
for (const [name, text] of Object.entries(publicSchemaFiles())) writeFileSync(join(root, 'schemas', name), text);
const readmePath = join(root, 'README.md');
writeFileSync(readmePath, withGeneratedSections(readFileSync(readmePath, 'utf8')));
console.log('schemas/*.json and the README’s generated sections are up to date');
