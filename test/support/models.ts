/** Model directories for tests: copies of the shipped model that score differently and say so in their version. */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SHIPPED_MODEL = join(__dirname, '..', '..', 'models', 'default');

/**
 * A copy of the shipped model under `version`, every weight multiplied by `weightScale` (1 keeps the network): a
 * scaled copy scores the same features differently, which proves it is scored separately.
 */
export function modelCopy(dir: string, version: string, weightScale = 1): string {
  cpSync(SHIPPED_MODEL, dir, { recursive: true });
  const metadataFile = join(dir, 'metadata.json');
  const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as { version: string; weightsSha256: string };
  metadata.version = version;
  if (weightScale !== 1) {
    const weightsFile = join(dir, 'weights.bin');
    const bytes = readFileSync(weightsFile);
    const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    for (let i = 0; i < weights.length; i++) weights[i] *= weightScale;
    const scaled = Buffer.from(weights.buffer);
    writeFileSync(weightsFile, scaled);
    metadata.weightsSha256 = createHash('sha256').update(scaled).digest('hex');
  }
  writeFileSync(metadataFile, JSON.stringify(metadata, null, 2));
  return dir;
}
