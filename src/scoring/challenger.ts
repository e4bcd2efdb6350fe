/**
 * The challenger (CHALLENGER_MODEL_DIR): a second model scored on every chunk beside the champion (MODEL_DIR) with
 * one batched predict and no explanations. It never decides, alerts or suppresses; its score goes to the scores
 * topic and to metrics, so a candidate is judged on live traffic before it is promoted.
 *
 * A challenger that does not load leaves the champion scoring and the instance ready: it is an experiment, and an
 * experiment must not take scoring down. The failure is one log line and `cardshield_challenger_reloads_total
 * {result="rejected"}`; the directory stays watched, so a valid model copied or linked there later is picked up.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../telemetry/logger';
import type { Telemetry } from '../telemetry/events';
import { createEmptyModelSlot, type ModelScorer } from '../model/scorer';
import { watchModelDirectory } from '../model/watch';
import { FEATURE_NAMES } from '../state/features';

export interface RunningChallenger {
  /** The challenger to score the next chunk with, or undefined while none is loaded. */
  current(): ModelScorer | undefined;
  close(): void;
}

export async function startChallenger(directory: string, options: { logger: Logger; telemetry: Telemetry }): Promise<RunningChallenger> {
  const { logger, telemetry } = options;
  const dir = resolve(directory);
  const slot = createEmptyModelSlot({ catalog: FEATURE_NAMES, telemetry, role: 'challenger' });
  if (!existsSync(dir)) {
    telemetry.emit('model.reload_rejected', { error: 'directory does not exist', role: 'challenger' });
    logger.error({ role: 'challenger', dir }, `CHALLENGER_MODEL_DIR ${directory} does not exist: no challenger until a model appears there; the champion keeps scoring`);
  } else {
    try {
      const loaded = await slot.reload(dir);
      logger.info({ role: 'challenger', version: loaded.version, backend: loaded.backend.detail }, 'challenger model loaded');
    } catch (error) {
      telemetry.emit('model.reload_rejected', { error: (error as Error).message, role: 'challenger' });
      logger.error({ err: error, role: 'challenger' }, `CHALLENGER_MODEL_DIR ${directory} did not load: no challenger until a valid model replaces it; the champion keeps scoring`);
    }
  }
  const watcher = watchModelDirectory(slot, dir, { logger, telemetry });
  return {
    current: () => slot.current,
    close() {
      watcher.close();
      slot.dispose();
    },
  };
}
