// Picks the TF.js backend: WebGL by default (set up so iOS WebKit computes
// correctly), WASM without threads where WebGL is missing, CPU as the last
// resort; a backend that hangs on its first run is abandoned for the next.
import type * as tfc from '@tensorflow/tfjs-core'

import { TfModelRuntimeError } from './errors.js'
import type { TfjsCore } from './tfjs-api.js'
import type { BackendName, ModelDescriptor } from './types.js'

export const BACKEND_ORDER: readonly BackendName[] = ['webgl', 'wasm', 'cpu']

/** Backends to try, in order: the one asked for, else every installed one in the default order. */
export function backendCandidates(descriptor: ModelDescriptor, tf: TfjsCore, wanted?: BackendName): BackendName[] {
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

/**
 * Imports and activates `name`; false when this device cannot run it (or, for
 * WebGL, cannot run it in float32 and it was not asked for by name).
 */
export async function activateBackend(descriptor: ModelDescriptor, tf: TfjsCore, name: BackendName, forced: boolean): Promise<boolean> {
  const importer = descriptor.backends?.[name]
  if (importer) await importer()
  if (name === 'webgl') configureWebgl(tf)
  if (name === 'wasm') configureWasm(tf)
  try {
    if (!(await tf.setBackend(name))) return false
  } catch {
    return false
  }
  return forced || name !== 'webgl' || rendersFloat32(tf)
}

/**
 * WebKit on iOS computes in half floats when TF.js lets it (16-bit textures:
 * 3 significant digits, and values below 6e-5 flushed to zero), which breaks
 * detectors' box decoding. Never force half floats, and treat a device that
 * cannot render to float32 textures as having no usable WebGL.
 */
function configureWebgl(tf: TfjsCore): void {
  trySet(tf.env(), 'WEBGL_FORCE_F16_TEXTURES', false)
}

function rendersFloat32(tf: TfjsCore): boolean {
  try {
    return tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')
  } catch {
    return true
  }
}

/** Threads need cross-origin isolation, which an app's webview rarely has. */
function configureWasm(tf: TfjsCore): void {
  trySet(tf.env(), 'WASM_HAS_MULTITHREAD_SUPPORT', false)
}

function trySet(env: ReturnType<typeof tfc.env>, flag: string, value: boolean): void {
  try {
    env.set(flag, value)
  } catch {
    // The flag does not exist in this TF.js version: nothing to configure.
  }
}

/** How to get all of TF.js back, for the errors below. */
const BUNDLE_ALL = "build with the plugin option kernels: 'all' to bundle all of TF.js"

/** What TF.js's engine says of a kernel the backend has not registered. */
const UNREGISTERED_KERNEL = /Kernel '(\w+)' not registered for backend/

/**
 * A build that bundled only the kernels it found its models using
 * (`descriptor.kernels`) cannot run a kernel outside that list: the
 * MISSING_KERNEL error for `error`, if that is what it is. A kernel on the list
 * that a backend lacks is the backend's limit, as without pruning.
 */
export function leftOutKernel(descriptor: ModelDescriptor, error: unknown): TfModelRuntimeError | undefined {
  if (error instanceof TfModelRuntimeError) return error.code === 'MISSING_KERNEL' ? error : undefined
  const kernel = descriptor.kernels && UNREGISTERED_KERNEL.exec((error as Error | undefined)?.message ?? '')?.[1]
  if (!kernel || descriptor.kernels?.includes(kernel)) return undefined
  return new TfModelRuntimeError(
    'MISSING_KERNEL',
    `${descriptor.id} needs the TF.js kernel ${kernel}, which this build left out (it bundles only the kernels it found its models using); ${BUNDLE_ALL}`,
    kernel,
    { cause: error },
  )
}

/** Called by tfjs-converter, in a build that bundled only its models' ops, for an op none of them uses. */
export function opLeftOut(name: string): never {
  throw new TfModelRuntimeError('MISSING_KERNEL', `the TF.js op ${name} was left out of this build (it bundles only the ops it found its models using); ${BUNDLE_ALL}`, name)
}

/** Resolves with `work`'s result, or rejects when it takes longer than `ms`. */
export function withWatchdog<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TfModelRuntimeError('BACKEND_UNSUPPORTED', `${what} did not finish in ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
