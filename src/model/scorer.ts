/**
 * Serving: a loaded model scores a whole chunk of feature vectors with one predict call, and explains the rows
 * that alert by occlusion (each feature in turn set back to its training mean; the score it loses is what it
 * contributed). Feature vectors arrive in the catalog's order; the scorer picks the model's features by index.
 */
import * as tf from '@tensorflow/tfjs';
import type { Reason } from '../contract';
import type { Telemetry } from '../telemetry/events';
import { initialiseBackend, type BackendInfo, type BackendName } from './backend';
import { loadModelArtifact, type ModelMetadata } from './artifact';
import { InputEncoder } from './preprocess';

export interface ModelScorer {
  readonly version: string;
  readonly metadata: ModelMetadata;
  readonly backend: BackendInfo;
  /** Fraud probability per feature vector, in order: one predict for the whole batch. */
  scoreBatch(features: readonly ArrayLike<number>[]): Float32Array;
  /**
   * The features that raised each row's score most, as reasons (`MODEL_FEATURE`), best first, only those that
   * raised it. Costs (features + 1) model rows per row: call it for the rows that alert, not for every row.
   */
  explain(features: readonly ArrayLike<number>[], topK?: number): Reason[][];
  /** Frees the model's tensors; the scorer must not be used afterwards. */
  dispose(): void;
}

export const MODEL_FEATURE_REASON = 'MODEL_FEATURE';

/** Three significant digits, no exponent for everyday magnitudes: "7.2", "1520", "0.031". */
function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(3)));
}

/** Wraps a loaded network and its metadata; `catalog` is the order of the feature vectors that will be passed in. */
export function createScorer(model: tf.LayersModel, metadata: ModelMetadata, catalog: readonly string[], backend: BackendInfo): ModelScorer {
  const sourceIndex = metadata.featureNames.map((name) => catalog.indexOf(name));
  const missing = metadata.featureNames.filter((_, j) => sourceIndex[j] < 0);
  if (missing.length > 0) throw new RangeError(`features not in the catalog: ${missing.join(', ')}`);
  const encoder = new InputEncoder(sourceIndex, metadata);
  const width = encoder.width;
  const typical = metadata.featureNames.map((_, j) => encoder.typicalValue(j));

  function predict(inputs: Float32Array, rows: number): Float32Array {
    // batchSize: predict otherwise splits the batch into slices of 32 and concatenates them, 3–4× slower.
    return tf.tidy(() => (model.predict(tf.tensor2d(inputs, [rows, width]), { batchSize: rows }) as tf.Tensor).dataSync() as Float32Array);
  }

  return {
    version: metadata.version,
    metadata,
    backend,
    scoreBatch(features) {
      if (features.length === 0) return new Float32Array(0);
      return predict(encoder.encodeRows(features), features.length);
    },
    explain(features, topK = 3) {
      if (features.length === 0) return [];
      // Per row: the row itself, then one copy per feature with that input at 0 (= the training mean).
      const block = width + 1;
      const inputs = new Float32Array(features.length * block * width);
      for (let r = 0; r < features.length; r++) {
        const base = r * block * width;
        encoder.encodeInto(features[r], inputs, base);
        for (let j = 0; j < width; j++) {
          const offset = base + (j + 1) * width;
          inputs.copyWithin(offset, base, base + width);
          inputs[offset + j] = 0;
        }
      }
      const scores = predict(inputs, features.length * block);
      return features.map((row, r) => {
        const full = scores[r * block];
        const contributions: Array<{ feature: number; gain: number }> = [];
        for (let j = 0; j < width; j++) {
          const gain = full - scores[r * block + j + 1];
          if (gain > 0) contributions.push({ feature: j, gain });
        }
        contributions.sort((a, b) => b.gain - a.gain || a.feature - b.feature);
        return contributions.slice(0, topK).map(({ feature }) => {
          const value = row[sourceIndex[feature]];
          return {
            code: MODEL_FEATURE_REASON,
            message: `${metadata.featureNames[feature]} = ${formatValue(value)} (typical ${formatValue(typical[feature])})`,
            value,
          };
        });
      });
    },
    dispose() {
      model.dispose();
    },
  };
}

export interface LoadModelOptions {
  /** Feature names in the order of the vectors the scorer will receive (the state module's FEATURE_NAMES). */
  catalog: readonly string[];
  /** Restricts the backend choice (tests and the benchmark); default: the best available. */
  backends?: readonly BackendName[];
}

/** Picks the backend, then loads, validates and wraps the model in `dir`. */
export async function loadModel(dir: string, options: LoadModelOptions): Promise<ModelScorer> {
  const backend = await initialiseBackend({ only: options.backends });
  const { model, metadata } = await loadModelArtifact(dir, options.catalog);
  return createScorer(model, metadata, options.catalog, backend);
}

/** Which place a model serves in: the champion decides; a challenger is scored beside it and never decides. */
export type ModelRole = 'champion' | 'challenger';

/** A place for a model that may be empty: a challenger whose model failed to load leaves the champion scoring. */
export interface OptionalModelSlot {
  readonly role: ModelRole;
  /** The model to score the next batch with. Read it once per batch: a reload may replace it between batches. */
  readonly current: ModelScorer | undefined;
  /**
   * Loads `dir` (default: the directory last loaded) and, only if it is valid, makes it current and frees the old
   * one. Scoring is synchronous, so no batch can be using the old model when it is freed. On failure the old
   * model stays current and the error is thrown.
   */
  reload(dir?: string): Promise<ModelScorer>;
  dispose(): void;
}

/** The champion's slot: it always holds a model. */
export interface ModelSlot extends OptionalModelSlot {
  readonly current: ModelScorer;
}

type SlotOptions = LoadModelOptions & { telemetry?: Telemetry; role?: ModelRole };

/** A slot with nothing in it yet; emits `model.loaded` (with its role) for each model put in service. */
export function createEmptyModelSlot(options: SlotOptions): OptionalModelSlot {
  const role = options.role ?? 'champion';
  let current: ModelScorer | undefined;
  let currentDir: string | undefined;
  return {
    role,
    get current() {
      return current;
    },
    async reload(nextDir = currentDir) {
      if (nextDir === undefined) throw new RangeError('no model directory to load');
      const next = await loadModel(nextDir, options);
      const previous = current;
      current = next;
      currentDir = nextDir;
      previous?.dispose();
      options.telemetry?.emit('model.loaded', { version: next.version, backend: next.backend.name, role });
      return next;
    },
    dispose() {
      current?.dispose();
    },
  };
}

/** A model that can be replaced without a restart (hot swap); the first load must succeed. */
export async function createModelSlot(dir: string, options: SlotOptions): Promise<ModelSlot> {
  const slot = createEmptyModelSlot(options);
  await slot.reload(dir);
  return slot as ModelSlot;
}
