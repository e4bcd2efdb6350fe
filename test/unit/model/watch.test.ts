import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createModelSlot, type ModelSlot } from '../../../src/model/scorer';
import { modelFingerprint, watchModelDirectory, type ModelWatcher } from '../../../src/model/watch';
import { FEATURE_NAMES } from '../../../src/state/features';
import { Telemetry } from '../../../src/telemetry/events';
import { nextEvent } from '../../support/telemetry';

const shipped = join(__dirname, '../../../models/default');
const logger = pino({ level: 'silent' });

/** A copy of the shipped model with another version in its metadata. */
function modelVersion(dir: string, version: string): string {
  cpSync(shipped, dir, { recursive: true });
  const metadataFile = join(dir, 'metadata.json');
  const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as { version: string };
  metadata.version = version;
  writeFileSync(metadataFile, JSON.stringify(metadata, null, 2));
  return dir;
}

describe('model hot swap (MODEL_DIR watcher)', () => {
  let root: string;
  let telemetry: Telemetry;
  let slot: ModelSlot | undefined;
  let watcher: ModelWatcher | undefined;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'card-shield-model-watch-'));
    telemetry = new Telemetry();
  });
  afterEach(() => {
    watcher?.close();
    slot?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  async function serve(dir: string): Promise<ModelSlot> {
    slot = await createModelSlot(dir, { catalog: FEATURE_NAMES, telemetry });
    watcher = watchModelDirectory(slot, dir, { logger, telemetry, debounceMs: 20 });
    return slot;
  }

  it('swaps in a model copied over the directory, and scores with it', async () => {
    const dir = modelVersion(join(root, 'model'), 'v1');
    const served = await serve(dir);
    expect(served.current.version).toBe('v1');
    const loaded = nextEvent(telemetry, 'model.loaded');
    modelVersion(dir, 'v2');
    expect((await loaded).version).toBe('v2');
    expect(served.current.version).toBe('v2');
    const [score] = served.current.scoreBatch([new Float64Array(FEATURE_NAMES.length)]);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
  });

  it('follows a symlink swapped to a new version directory (how volumes and deploy scripts update)', async () => {
    modelVersion(join(root, 'v1'), 'v1');
    modelVersion(join(root, 'v2'), 'v2');
    symlinkSync(join(root, 'v1'), join(root, 'current'));
    const served = await serve(join(root, 'current'));
    const loaded = nextEvent(telemetry, 'model.loaded');
    symlinkSync(join(root, 'v2'), join(root, 'current.next'));
    renameSync(join(root, 'current.next'), join(root, 'current')); // atomic, like Kubernetes' ..data swap
    expect((await loaded).version).toBe('v2');
    expect(served.current.version).toBe('v2');
  });

  it('rejects a broken model and keeps scoring with the previous one', async () => {
    const dir = modelVersion(join(root, 'model'), 'v1');
    const served = await serve(dir);
    const rejected = nextEvent(telemetry, 'model.reload_rejected');
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": "not a model"');
    expect((await rejected).error).not.toBe('');
    expect(served.current.version).toBe('v1');
    expect(served.current.scoreBatch([new Float64Array(FEATURE_NAMES.length)])).toHaveLength(1);
    // The same broken content is not retried on every event; a fixed model is taken.
    expect(await watcher!.check()).toBe('unchanged');
    const loaded = nextEvent(telemetry, 'model.loaded');
    modelVersion(dir, 'v3');
    expect((await loaded).version).toBe('v3');
  });

  it('does nothing when the content is unchanged (a touch, an unrelated file)', async () => {
    const dir = modelVersion(join(root, 'model'), 'v1');
    await serve(dir);
    const before = modelFingerprint(dir);
    writeFileSync(join(dir, 'README.txt'), 'notes');
    writeFileSync(join(dir, 'metadata.json'), readFileSync(join(dir, 'metadata.json')));
    expect(modelFingerprint(dir)).toBe(before);
    expect(await watcher!.check()).toBe('unchanged');
    expect(slot!.current.version).toBe('v1');
  });
});
