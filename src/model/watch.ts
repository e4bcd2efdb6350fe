/**
 * Hot swap of the model: watches MODEL_DIR and, when its files change, loads the new model beside the old one and
 * swaps it in only if it loads and validates (ModelSlot.reload). A broken or half-copied model is rejected, logged
 * and counted, and the old one keeps scoring.
 *
 * How a new model arrives decides what is watched. Copying files into the directory changes them in place; a
 * Kubernetes volume (ConfigMap, or a sidecar that syncs models) writes a new timestamped directory and renames a
 * `..data` symlink, and a deploy script may point a `current` symlink at a new version directory. So both the
 * directory and its parent are watched, and a change counts only when the model's content changed: the fingerprint
 * is a hash of the files the loader reads, not of timestamps, so a touch or an unrelated file does nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Telemetry } from '../telemetry/events';
import type { OptionalModelSlot } from './scorer';

export interface ModelWatcher {
  /** Checks now (the watcher calls this after changes settle); resolves once the check and any swap are done. */
  check(): Promise<'unchanged' | 'swapped' | 'rejected'>;
  close(): void;
}

/** A hash of the model's files (metadata, topology, weights), or undefined while they are not all readable. */
export function modelFingerprint(dir: string): string | undefined {
  try {
    const hash = createHash('sha256');
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.json') || name.endsWith('.bin'))
      .sort();
    if (!files.includes('metadata.json') || !files.includes('model.json')) return undefined;
    for (const name of files) hash.update(name).update('\0').update(readFileSync(join(dir, name)));
    return hash.digest('hex');
  } catch {
    return undefined; // mid-copy or mid-swap: the next event checks again
  }
}

export function watchModelDirectory(
  slot: OptionalModelSlot,
  dir: string,
  options: { logger: Logger; telemetry: Telemetry; debounceMs?: number },
): ModelWatcher {
  const { logger, telemetry } = options;
  const debounceMs = options.debounceMs ?? 500;
  let fingerprint = modelFingerprint(dir);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function checkNow(): Promise<'unchanged' | 'swapped' | 'rejected'> {
    const next = modelFingerprint(dir);
    if (next === undefined || next === fingerprint) return 'unchanged';
    const previousVersion = slot.current?.version;
    const role = slot.role;
    try {
      const loaded = await slot.reload(dir);
      fingerprint = next;
      logger.info({ role, version: loaded.version, previous: previousVersion, backend: loaded.backend.detail }, previousVersion === undefined ? 'model loaded' : 'model swapped');
      return 'swapped';
    } catch (error) {
      // Remember the rejected content, so the same broken files are not reloaded on every event.
      fingerprint = next;
      telemetry.emit('model.reload_rejected', { error: (error as Error).message, role });
      logger.error({ err: error, role, version: previousVersion }, previousVersion === undefined ? 'model rejected; none is scoring in its place' : 'new model rejected; the previous one keeps scoring');
      return 'rejected';
    }
  }

  function check(): Promise<'unchanged' | 'swapped' | 'rejected'> {
    // One check at a time: a swap must finish before the next fingerprint is compared.
    const outcome = queue.then(checkNow);
    queue = outcome.catch(() => undefined);
    return outcome;
  }

  const onChange = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const target of [dir, dirname(dir)]) {
    if (!existsSync(target)) continue;
    const watcher = watch(target, { persistent: false }, onChange);
    watcher.on('error', (error) => logger.warn({ err: error, directory: target }, 'model directory watch failed; hot swap may miss changes'));
    watchers.push(watcher);
  }

  return {
    check,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
