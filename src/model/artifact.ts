/**
 * A model directory: `model.json` + `weights.bin` in the layout tfjs-node's `file://` handler writes (so a model
 * trained with tfjs-node or converted from Keras loads too), plus `metadata.json`, which says what the network
 * expects (feature names in input order, normalisation) and where it came from (training period, data, figures).
 * Without tfjs-node there is no `file://` handler, so both directions go through in-memory IO handlers.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { NonRetriableError } from '../errors';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';
export const METADATA_FORMAT = 'card-shield-model/1';

const count = Type.Integer({ minimum: 0 });
const probability = Type.Number({ minimum: 0, maximum: 1 });

export const ModelMetadataSchema = Type.Object({
  format: Type.Literal(METADATA_FORMAT),
  version: Type.String({ minLength: 1, maxLength: 128, description: 'Shown in alerts (model.version) and metrics.' }),
  createdAt: Type.String({ minLength: 1 }),
  featureNames: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Catalog feature names, in model input order.' }),
  inputTransform: Type.Literal('symlog-standardise'),
  means: Type.Array(Type.Number()),
  stds: Type.Array(Type.Number({ exclusiveMinimum: 0 })),
  weightsSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Catches a weights file that does not belong to this metadata.' }),
  trainingPeriod: Type.Object({
    from: Type.String(),
    to: Type.String(),
    labelsKnownAt: Type.String({ description: 'Only labels reported before this instant were used.' }),
  }),
  dataSummary: Type.Object({
    sources: Type.Array(Type.String()),
    transactions: count,
    fraudTransactions: count,
    cards: count,
    fitRows: count,
    validationRows: count,
    negativeSampleRate: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    skippedRecords: count,
  }),
  thresholds: Type.Object({
    review: probability,
    block: probability,
    rule: Type.String({ description: 'How the thresholds were chosen.' }),
  }),
  training: Type.Object({
    seed: Type.Integer(),
    hiddenUnits: Type.Array(Type.Integer({ minimum: 1 })),
    epochs: Type.Integer({ minimum: 1 }),
    bestEpoch: Type.Integer({ minimum: 1 }),
    batchSize: Type.Integer({ minimum: 1 }),
    learningRate: Type.Number({ exclusiveMinimum: 0 }),
    genuinePerFraud: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    fraudWeight: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Networks averaged into this one (bagging), and each one's best epoch. */
    bags: Type.Optional(Type.Integer({ minimum: 1 })),
    bestEpochs: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }))),
    backend: Type.String(),
  }),
  /** Figures keyed by where they were measured ('validation', 'test'); free-form so new figures need no migration. */
  evaluation: Type.Record(Type.String(), Type.Unknown()),
  /**
   * How this model combines with the rules (src/decision/policy.ts step 2), fitted by `npm run train -- --calibrate`.
   * Absent: the model is one more piece of evidence in the rules' noisy OR.
   */
  combination: Type.Optional(
    Type.Object({
      rulesVersion: Type.String({ minLength: 1, description: 'The rule set version the weights were fitted with.' }),
      modelWeight: Type.Number({ description: 'a in sigmoid(a · logit(model) + b + Σ w_rule).' }),
      intercept: Type.Number({ description: 'b.' }),
      baseRate: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Fraud rate of the fit rows.' }),
      ruleWeights: Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'Log-odds a live calibrated rule adds when it fires.' }),
      /** Where the weights came from (window, label cut-off, per-rule hits and precision): free-form provenance. */
      fit: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});
export type ModelMetadata = Static<typeof ModelMetadataSchema>;

/** A model directory that cannot be used as it is: the message names the file and what to fix. */
export class ModelArtifactError extends NonRetriableError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = 'ModelArtifactError';
  }
}

/**
 * Checks metadata beyond its shape: every feature must be one the service computes (`catalog`), the normalisation
 * must match the inputs, thresholds must be ordered. Throws ModelArtifactError listing every problem found.
 */
export function validateMetadata(raw: unknown, catalog: readonly string[], source = METADATA_FILE): ModelMetadata {
  if (!Value.Check(ModelMetadataSchema, raw)) {
    const problems = [...Value.Errors(ModelMetadataSchema, raw)].slice(0, 8).map((e) => `${e.path || '/'} ${e.message}`);
    throw new ModelArtifactError(`${source} is not valid ${METADATA_FORMAT} metadata: ${problems.join('; ')}`);
  }
  const metadata = raw;
  const problems: string[] = [];
  const known = new Set(catalog);
  const unknown = metadata.featureNames.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    problems.push(`features ${unknown.map((n) => `"${n}"`).join(', ')} are not computed by this service (retrain the model on the current feature catalog)`);
  }
  const duplicated = metadata.featureNames.filter((name, i) => metadata.featureNames.indexOf(name) !== i);
  if (duplicated.length > 0) problems.push(`features ${[...new Set(duplicated)].join(', ')} are listed more than once`);
  const width = metadata.featureNames.length;
  if (metadata.means.length !== width || metadata.stds.length !== width) {
    problems.push(`${width} features but ${metadata.means.length} means and ${metadata.stds.length} stds`);
  }
  if (metadata.thresholds.block < metadata.thresholds.review) {
    problems.push(`thresholds.block (${metadata.thresholds.block}) is below thresholds.review (${metadata.thresholds.review})`);
  }
  if (problems.length > 0) throw new ModelArtifactError(`${source}: ${problems.join('; ')}`);
  return metadata;
}

async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes the model and its metadata into `dir` (created if needed). `weightsSha256` is filled in here. Weights go
 * first and metadata last, each file replaced atomically, so a reader never sees a half-written file.
 */
export async function saveModelArtifact(dir: string, model: tf.LayersModel, metadata: Omit<ModelMetadata, 'weightsSha256'>): Promise<ModelMetadata> {
  await mkdir(dir, { recursive: true });
  let complete: ModelMetadata | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      const weights = new Uint8Array(Array.isArray(weightData) ? tf.io.CompositeArrayBuffer.join(weightData) : weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      complete = { ...metadata, weightsSha256: sha256(weights) };
      await writeFileAtomically(join(dir, WEIGHTS_FILE), weights);
      await writeFileAtomically(join(dir, MODEL_FILE), JSON.stringify(modelJson));
      await writeFileAtomically(join(dir, METADATA_FILE), `${JSON.stringify(complete, null, 2)}\n`);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return complete!;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelArtifactError(`cannot read ${path}: ${(error as Error).message}`, error);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelArtifactError(`${path} is not valid JSON: ${(error as Error).message}`, error);
  }
}

export async function readMetadata(dir: string, catalog: readonly string[]): Promise<ModelMetadata> {
  const path = join(dir, METADATA_FILE);
  return validateMetadata(await readJson(path), catalog, path);
}

interface ModelJson {
  modelTopology?: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/**
 * Loads and cross-checks a model directory: metadata valid against the catalog, weights matching their hash, and a
 * network whose input width is the number of features and whose output is one probability.
 */
export async function loadModelArtifact(dir: string, catalog: readonly string[]): Promise<{ model: tf.LayersModel; metadata: ModelMetadata }> {
  const metadata = await readMetadata(dir, catalog);
  const modelPath = join(dir, MODEL_FILE);
  const modelJson = (await readJson(modelPath)) as ModelJson;
  if (typeof modelJson !== 'object' || modelJson === null || !modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new ModelArtifactError(`${modelPath} lacks modelTopology or weightsManifest (is it a TensorFlow.js layers model?)`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const shards: Buffer[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      try {
        shards.push(await readFile(join(dir, path)));
      } catch (error) {
        throw new ModelArtifactError(`cannot read weights file ${join(dir, path)} named in ${modelPath}`, error);
      }
    }
  }
  const weights = Buffer.concat(shards);
  if (sha256(weights) !== metadata.weightsSha256) {
    throw new ModelArtifactError(`${dir}: the weights do not match metadata.json (weightsSha256 differs): the directory mixes files of two models`);
  }
  // A Buffer may be a view into a shared pool: hand tfjs exactly its own bytes.
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData, format: modelJson.format, generatedBy: modelJson.generatedBy }));
  } catch (error) {
    throw new ModelArtifactError(`${modelPath} could not be loaded: ${(error as Error).message}`, error);
  }
  const inputShape = model.inputs[0]?.shape;
  const outputShape = model.outputs[0]?.shape;
  const width = metadata.featureNames.length;
  if (model.inputs.length !== 1 || inputShape?.length !== 2 || inputShape[1] !== width) {
    model.dispose();
    throw new ModelArtifactError(`${modelPath} takes input shape ${JSON.stringify(inputShape)} but metadata lists ${width} features`);
  }
  if (model.outputs.length !== 1 || outputShape?.length !== 2 || outputShape[1] !== 1) {
    model.dispose();
    throw new ModelArtifactError(`${modelPath} has output shape ${JSON.stringify(outputShape)}; a fraud model outputs one probability per row`);
  }
  return { model, metadata };
}

/** Merges figures into the `evaluation` section of a saved model's metadata (after `npm run evaluate -- --record`). */
export async function recordEvaluation(dir: string, catalog: readonly string[], key: string, figures: unknown): Promise<void> {
  const metadata = await readMetadata(dir, catalog);
  metadata.evaluation[key] = figures;
  await writeFileAtomically(join(dir, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
}

/**
 * Stores a fitted combination in a saved model's metadata (after `npm run train -- --calibrate`), validated like
 * any metadata. The weights file is untouched, so the model's hash still matches.
 */
export async function recordCombination(dir: string, catalog: readonly string[], combination: NonNullable<ModelMetadata['combination']>): Promise<ModelMetadata> {
  const metadata = validateMetadata({ ...(await readMetadata(dir, catalog)), combination }, catalog, join(dir, METADATA_FILE));
  await writeFileAtomically(join(dir, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
  return metadata;
}
