/**
 * The network's options on the command line, shared by `npm run train` (one model) and `npm run evaluate --folds`
 * (one model per fold), so a recipe measured under the folds is trained with exactly the same flags.
 */
import { NonRetriableError } from '../errors';
import { DEFAULT_NETWORK_OPTIONS, type NetworkOptions } from '../offline/train';
import { FEATURE_NAMES } from '../state/features';

export const NETWORK_OPTIONS = {
  features: { type: 'string' },
  seed: { type: 'string' },
  epochs: { type: 'string' },
  hidden: { type: 'string' },
  'batch-size': { type: 'string' },
  'learning-rate': { type: 'string' },
  'genuine-per-fraud': { type: 'string' },
  'fraud-weight': { type: 'string' },
  bags: { type: 'string' },
} as const;

export const NETWORK_HELP = `  --features <a,b,…>        catalog features to use (default: all ${FEATURE_NAMES.length})
  --seed <n>                default ${DEFAULT_NETWORK_OPTIONS.seed}
  --epochs <n>              default ${DEFAULT_NETWORK_OPTIONS.epochs} (the epoch with the best validation AP is kept)
  --hidden <a,b>            hidden layer sizes, default ${DEFAULT_NETWORK_OPTIONS.hiddenUnits.join(',')}
  --batch-size <n>          default ${DEFAULT_NETWORK_OPTIONS.batchSize}
  --learning-rate <x>       default ${DEFAULT_NETWORK_OPTIONS.learningRate}
  --genuine-per-fraud <n>   genuine rows kept per fraud row when down-sampling, default ${DEFAULT_NETWORK_OPTIONS.genuinePerFraud}
  --fraud-weight <x>        loss weight of a fraud row against a genuine one, default ${DEFAULT_NETWORK_OPTIONS.fraudWeight}
                            (both are undone on the output, so scores stay probabilities)
  --bags <n>                networks averaged into the model, each on its own genuine down-sample, default ${DEFAULT_NETWORK_OPTIONS.bags}`;

export interface NetworkArgs {
  features?: string;
  seed?: string;
  epochs?: string;
  hidden?: string;
  'batch-size'?: string;
  'learning-rate'?: string;
  'genuine-per-fraud'?: string;
  'fraud-weight'?: string;
  bags?: string;
}

export function numberOption(name: string, raw: string | undefined, fallback: number, check: (v: number) => boolean = (v) => v > 0): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new NonRetriableError(`--${name} "${raw}" is not a valid value`);
  return value;
}

const wholePositive = (v: number) => Number.isInteger(v) && v > 0;

export function parseNetworkOptions(args: NetworkArgs): NetworkOptions {
  const d = DEFAULT_NETWORK_OPTIONS;
  return {
    seed: numberOption('seed', args.seed, d.seed, Number.isInteger),
    hiddenUnits: args.hidden?.split(',').map((u) => numberOption('hidden', u, 0, wholePositive)) ?? d.hiddenUnits,
    epochs: numberOption('epochs', args.epochs, d.epochs, wholePositive),
    batchSize: numberOption('batch-size', args['batch-size'], d.batchSize, wholePositive),
    learningRate: numberOption('learning-rate', args['learning-rate'], d.learningRate),
    genuinePerFraud: numberOption('genuine-per-fraud', args['genuine-per-fraud'], d.genuinePerFraud),
    fraudWeight: numberOption('fraud-weight', args['fraud-weight'], d.fraudWeight),
    bags: numberOption('bags', args.bags, d.bags, wholePositive),
  };
}

export function parseFeatureNames(args: NetworkArgs): string[] {
  const featureNames = args.features?.split(',').map((f) => f.trim()) ?? [...FEATURE_NAMES];
  const unknown = featureNames.filter((f) => !(FEATURE_NAMES as readonly string[]).includes(f));
  if (unknown.length > 0) throw new NonRetriableError(`--features: ${unknown.join(', ')} not in the catalog (see src/state/features.ts)`);
  return featureNames;
}
