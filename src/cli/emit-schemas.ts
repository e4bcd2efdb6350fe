/** `npm run schemas`: writes the public contract (schemas/*.json) from src/contract/schemas.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicSchemaFiles } from '../contract/json-schema';

const dir = join(__dirname, '..', '..', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(publicSchemaFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote schemas/${name}`);
}
