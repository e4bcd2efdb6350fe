/**
 * The TensorFlow.js backend, chosen once per process: native TensorFlow (`@tensorflow/tfjs-node`, an optional
 * dependency whose install downloads libtensorflow) when it loads, else WebAssembly (SIMD when the runtime has it;
 * tfjs disables wasm threads in Node), else the pure-JS cpu backend. tfjs keeps the active backend in its own
 * global engine, so calling this again is cheap and returns the same choice.
 */
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { NonRetriableError } from '../errors';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** True when the wasm backend runs its SIMD build. */
  simd: boolean;
  /** One line for the start-up log: what was chosen and why the better ones were not. */
  detail: string;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'not installed' : error.message;
  return String(error);
}

async function tryNative(): Promise<string | undefined> {
  try {
    // Loading the package registers its 'tensorflow' backend with the shared tfjs engine.
    require('@tensorflow/tfjs-node');
  } catch (error) {
    return `tfjs-node: ${describeFailure(error)}`;
  }
  return (await tf.setBackend('tensorflow')) ? undefined : 'tfjs-node: backend failed to initialise';
}

async function tryWasm(): Promise<string | undefined> {
  try {
    // Required here, not imported at the top: loading it registers hundreds of kernels.
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship beside the package's entry point; tfjs reads them from this directory in Node.
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  } catch (error) {
    return `wasm: ${describeFailure(error)}`;
  }
  return (await tf.setBackend('wasm')) ? undefined : 'wasm: backend failed to initialise';
}

/**
 * Picks the best backend that works here and makes it tfjs' active backend. `only` restricts the choice (the
 * benchmark compares backends; tests pin cpu or wasm).
 */
export async function initialiseBackend(options: { only?: readonly BackendName[] } = {}): Promise<BackendInfo> {
  const allowed = options.only ?? ['tensorflow', 'wasm', 'cpu'];
  // Before the first tensor: silences the "use tfjs-node" banner and skips per-op NaN checks.
  tf.enableProdMode();
  const skipped: string[] = [];
  const attempts: Array<[BackendName, () => Promise<string | undefined>]> = [
    ['tensorflow', tryNative],
    ['wasm', tryWasm],
    ['cpu', async () => ((await tf.setBackend('cpu')) ? undefined : 'cpu: backend failed to initialise')],
  ];
  for (const [name, attempt] of attempts) {
    if (!allowed.includes(name)) continue;
    const failure = await attempt();
    if (failure !== undefined) {
      skipped.push(failure);
      continue;
    }
    await tf.ready();
    const simd = name === 'wasm' && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const chosen = name === 'wasm' ? `wasm (${simd ? 'SIMD' : 'no SIMD'}, single thread)` : name;
    return { name, simd, detail: skipped.length === 0 ? chosen : `${chosen}; skipped ${skipped.join('; ')}` };
  }
  throw new NonRetriableError(`no TensorFlow.js backend could start (${skipped.join('; ')})`);
}
