import { PUBLIC_SCHEMAS } from './schemas';

/** The public JSON Schema documents, as written to `schemas/` (draft 2020-12 keywords; TypeBox's internal markers removed). */
export function publicSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(PUBLIC_SCHEMAS)) {
    const document = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...JSON.parse(JSON.stringify(schema)) };
    files[name] = `${JSON.stringify(document, null, 2)}\n`;
  }
  return files;
}
