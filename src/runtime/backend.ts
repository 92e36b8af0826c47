// Picks the TF.js backend: WebGL by default (set up so iOS WebKit computes
// correctly), WASM without threads where WebGL is missing, CPU as the last
// resort; a backend that hangs on its first run is abandoned for the next.
import type * as tfc from '@tensorflow/tfjs-core'

import { TfModelRuntimeError } from './errors.js'
import type { BackendName, ModelDescriptor } from './types.js'

export const BACKEND_ORDER: readonly BackendName[] = ['webgl', 'wasm', 'cpu']

/** Backends to try, in order: the one asked for, else every installed one in the default order. */
export function backendCandidates(descriptor: ModelDescriptor, tf: typeof tfc, wanted?: BackendName): BackendName[] {
  const installed = new Set<string>([
    ...Object.keys(descriptor.backends ?? {}),
    ...Object.keys(tf.engine().registryFactory),
  ])
  if (wanted) {
    if (!installed.has(wanted)) {
      throw new TfModelRuntimeError(
        'BACKEND_UNSUPPORTED',
        `backend "${wanted}" is not installed; add @tensorflow/tfjs-backend-${wanted} to the app`,
        wanted,
      )
    }
    return [wanted]
  }
  return BACKEND_ORDER.filter((name) => installed.has(name))
}

/** Imports and activates `name`; false when this device cannot run it. */
export async function activateBackend(descriptor: ModelDescriptor, tf: typeof tfc, name: BackendName): Promise<boolean> {
  const importer = descriptor.backends?.[name]
  if (importer) await importer()
  if (name === 'webgl') configureWebgl(tf)
  if (name === 'wasm') configureWasm(tf)
  try {
    return await tf.setBackend(name)
  } catch {
    return false
  }
}

/**
 * iOS WebGL renders to half-float textures unless told otherwise, which loses
 * precision and flushes small values to zero; ask for 32-bit textures where
 * the device can render them.
 */
function configureWebgl(tf: typeof tfc): void {
  const env = tf.env()
  trySet(env, 'WEBGL_FORCE_F16_TEXTURES', false)
  trySet(env, 'WEBGL_RENDER_FLOAT32_ENABLED', true)
}

/** Threads need cross-origin isolation, which an app's webview rarely has. */
function configureWasm(tf: typeof tfc): void {
  trySet(tf.env(), 'WASM_HAS_MULTITHREAD_SUPPORT', false)
}

function trySet(env: ReturnType<typeof tfc.env>, flag: string, value: boolean): void {
  try {
    if (env.getFlags()[flag] !== undefined || flag in (env as unknown as { flagRegistry: object }).flagRegistry) env.set(flag, value)
  } catch {
    // The flag does not exist in this TF.js version: nothing to configure.
  }
}

/** Resolves with `work`'s result, or rejects when it takes longer than `ms`. */
export function withWatchdog<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TfModelRuntimeError('BACKEND_UNSUPPORTED', `${what} did not finish in ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
