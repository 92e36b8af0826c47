// Calibration for full-integer int8 (`--quantize int8-full`): the float model
// runs on representative inputs in this process, and each activation's range
// is the widest over all samples. The core runs it itself when it has a
// kernel for every op (the samples are read here and handed over whole).
// Otherwise LiteRT.js runs a float .tflite that also outputs the minimum and
// the maximum of every activation (reduced in the model, as two vectors in
// the order the core names), a slow model's samples shared with worker
// threads, each with its own LiteRT.js. The core then writes the int8 file
// over those ranges, for exactly the tensors it measured.
import { readdirSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { extname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads'

import { unzipSync } from 'fflate'

import { type CalibrationInput, calibrator, convert, type ConvertRequest, defaults } from '../native.js'
import { type RuntimeErrorCode, TfModelRuntimeError } from '../runtime/errors.js'
import type { TensorSpec } from '../runtime/types.js'
import { type Feed, type ImageOptions, InputMismatchError, parseNpy, readInput, readInputFile, readNpy } from './run-input.js'
import { loadTfliteBytes } from './run-model.js'

const require = createRequire(import.meta.url)

export type Ranges = Record<string, [number, number]>

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg'])

/** `calibrate`'s options: the image settings, and how the samples are shared out. */
export interface CalibrateOptions extends ImageOptions {
  /** Most LiteRT.js instances running samples at once, this thread's included (default: the cores, up to 4). */
  threads?: number
  /** A run at least this slow (ms, measured on the second sample) brings in worker threads (default 20). */
  parallelAboveMs?: number
  /** What runs the float model: `core` (the default; LiteRT.js when the core lacks a kernel) or `litert`. */
  engine?: Engine
}

export type Engine = 'core' | 'litert'

/** Below this a run is too quick for a worker's start-up (its own LiteRT.js to compile) to pay off. */
const PARALLEL_ABOVE_MS = 20

export interface Calibration {
  /** Each measured tensor's minimum and maximum over all samples. */
  ranges: Ranges
  /** How many samples each LiteRT.js instance ran: this thread's first, then each worker's (the core: one entry). */
  samplesPerThread: number[]
  /** What ran the float model. */
  engine: Engine
  /** Why the core could not, when LiteRT.js ran it instead. */
  fallback?: string
}

/** The ranges of every activation of `request`'s model over the samples in `source`. */
export async function calibrate(request: ConvertRequest, source: string, options: CalibrateOptions = {}): Promise<Calibration> {
  const floatRequest: ConvertRequest = { ...request, quantize: undefined, format: 'tflite', outputDir: undefined }
  let fallback: string | undefined
  if ((options.engine ?? 'core') === 'core') {
    const model = await calibrator(floatRequest)
    const inputs = model.inputs.map((s): TensorSpec => ({ name: s.name, dtype: s.dtype as TensorSpec['dtype'], shape: s.shape ?? null }))
    const batches = await stacked(samples(source, inputs, options), inputs, source)
    if (batches.some((b) => b.shape[0] === 0)) throw new InputMismatchError('SHAPE_MISMATCH', `calibration source ${source} holds no samples`, source)
    const measured = await model.measure(batches).catch((error: unknown) => {
      // The core knows the input, not which file the samples came from.
      const code = (error as { code?: string }).code
      if (code !== 'SHAPE_MISMATCH' && code !== 'DTYPE_MISMATCH') throw error
      throw new InputMismatchError(code, `${source}: ${(error as Error).message}`, source, (error as { subject?: string }).subject)
    })
    if (measured.ranges) {
      const ranges = Object.fromEntries(Object.entries(measured.ranges).map(([name, [lo, hi]]) => [name, [lo!, hi!] as [number, number]]))
      return { ranges, samplesPerThread: [measured.samples], engine: 'core' }
    }
    fallback = measured.unsupported ?? undefined
  }
  return { ...(await calibrateOnLitert(floatRequest, source, options)), engine: 'litert', fallback }
}

/** Every record's values, stacked per input along a new first axis: what the core's `calibrate` takes. */
async function stacked(records: AsyncGenerator<CalibrationRecord>, inputs: readonly TensorSpec[], source: string): Promise<CalibrationInput[]> {
  const stacks = inputs.map((input) => ({ input, dtype: '', shape: [] as number[], parts: [] as Uint8Array[] }))
  for await (const record of records) {
    for (const stack of stacks) {
      const value = record[stack.input.name]!
      const { data, shape } = ArrayBuffer.isView(value) ? { data: value, shape: [1, ...(stack.input.shape ?? []).slice(1)] } : ((value ?? {}) as Partial<Feed>)
      const dtype = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'uint8' : undefined
      if (!dtype || !data || !Array.isArray(shape)) {
        const what = Array.isArray(value) ? 'a plain array' : data == null ? 'a record without data' : `a ${(data as object).constructor?.name ?? typeof data}`
        throw new InputMismatchError('DTYPE_MISMATCH', `calibration samples from ${source} for input "${stack.input.name}" are ${what}; give a Float32Array, an Int32Array or a Uint8Array, or { data, shape } with one`, source, stack.input.name)
      }
      // One sample's shape: a leading batch of 1 is the record's, not the sample's.
      const own = shape[0] === 1 && shape.length === (stack.input.shape?.length ?? shape.length) ? shape.slice(1) : shape
      const fits = own.every((d) => d >= 0) && data.length === own.reduce((a, b) => a * b, 1)
      const first = stack.parts.length === 0
      if (!fits || (!first && (dtype !== stack.dtype || own.join() !== stack.shape.join()))) {
        const was = first ? '' : `${stack.dtype} [${stack.shape.join(',')}], then `
        throw new InputMismatchError('SHAPE_MISMATCH', `calibration samples from ${source} for input "${stack.input.name}" do not fit: ${was}${data.length} ${dtype} values as [${own.join(',')}]`, source, stack.input.name)
      }
      if (first) Object.assign(stack, { dtype, shape: own })
      stack.parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    }
  }
  return stacks.map(({ input, dtype, shape, parts }) => ({ name: input.name, dtype: dtype || 'float32', shape: [parts.length, ...shape], data: Buffer.concat(parts) }))
}

/** The LiteRT.js path: a calibration model that reduces every activation to its range, run on the samples. */
async function calibrateOnLitert(floatRequest: ConvertRequest, source: string, options: CalibrateOptions): Promise<Omit<Calibration, 'engine'>> {
  const float = await convert({ ...floatRequest, calibrationOutputs: true })
  const names = float.calibrationTensors
  const bytes = new Uint8Array(float.files[0]!.data)
  const local = await localRunner(bytes)
  const runners: Runner[] = [local]
  const starting: Promise<unknown>[] = []
  // Run from its TypeScript source (under vitest), this module has no built file for a worker to load.
  const threads = import.meta.url.endsWith('.js') ? (options.threads ?? Math.min(availableParallelism(), 4)) : 1
  const heavy = options.parallelAboveMs ?? PARALLEL_ABOVE_MS
  try {
    // The runners take the samples in turn as each comes free (an async generator serves its callers in order).
    const records = samples(source, local.inputs, options)
    let failure: unknown
    const ran = new Map<Runner, number>()
    const drain = async (runner: Runner, onSecond?: (ms: number) => void) => {
      for (let taken = 0; failure === undefined; taken++) {
        const next = await records.next()
        if (next.done) return
        ran.set(runner, taken + 1)
        const started = performance.now()
        await runner.run(next.value)
        if (taken === 1) onSecond?.(performance.now() - started)
        // A run in this thread settles without leaving the microtask queue: let the workers' messages in.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const drains: Promise<void>[] = []
    const settle = (work: Promise<void>) => drains.push(work.catch((error: unknown) => void (failure ??= error)))
    settle(
      drain(local, (ms) => {
        if (ms < heavy || threads < 2) return
        for (let i = 1; i < threads; i++) {
          // A worker that cannot start leaves the samples to the others: the ranges come out the same.
          const started = workerRunner(bytes).then(
            (worker) => (runners.push(worker), worker),
            () => undefined,
          )
          starting.push(started)
          settle(started.then((worker) => worker && drain(worker)))
        }
      }),
    )
    // Workers join while the first drain runs: wait until no drain is left.
    for (let done = 0; done < drains.length; done = drains.length) await Promise.all(drains.slice(done))
    if (failure !== undefined) throw failure
    if (ran.size === 0) throw new InputMismatchError('SHAPE_MISMATCH', `calibration source ${source} holds no samples`, source)
    const [lo, hi] = [new Float64Array(names.length).fill(Infinity), new Float64Array(names.length).fill(-Infinity)]
    for (const extremes of await Promise.all(runners.map((r) => r.extremes()))) {
      for (let i = 0; i < extremes.lo.length; i++) {
        lo[i] = Math.min(lo[i]!, extremes.lo[i]!)
        hi[i] = Math.max(hi[i]!, extremes.hi[i]!)
      }
    }
    const ranges: Ranges = Object.fromEntries(names.map((name, i) => [name, [lo[i]!, hi[i]!]]))
    return { ranges, samplesPerThread: runners.map((r) => ran.get(r) ?? 0) }
  } finally {
    // A worker still starting when the samples ran out is closed too, once it is up.
    await Promise.all(starting)
    await Promise.all(runners.map((r) => r.close()))
  }
}

/** One LiteRT.js instance running the calibration model: the widest range it saw of each measured tensor. */
interface Runner {
  run(record: CalibrationRecord): Promise<void>
  extremes(): Promise<Extremes>
  close(): Promise<void>
}

interface Extremes {
  lo: Float64Array
  hi: Float64Array
}

/** A runner in this thread, and the model's inputs (which the samples are read for). */
async function localRunner(bytes: Uint8Array): Promise<Runner & { inputs: readonly TensorSpec[] }> {
  const model = await loadTfliteBytes('calibration', Buffer.from(bytes))
  const [minName, maxName] = defaults().calibrationOutputs as [string, string]
  let extremes: Extremes = { lo: new Float64Array(), hi: new Float64Array() }
  return {
    inputs: model.signature.inputs,
    async run(record) {
      const outputs = await model.run(record)
      const [mins, maxes] = [outputs[minName]!.data as Float32Array, outputs[maxName]!.data as Float32Array]
      if (extremes.lo.length === 0) extremes = { lo: new Float64Array(mins.length).fill(Infinity), hi: new Float64Array(maxes.length).fill(-Infinity) }
      for (let i = 0; i < mins.length; i++) {
        extremes.lo[i] = Math.min(extremes.lo[i]!, mins[i]!)
        extremes.hi[i] = Math.max(extremes.hi[i]!, maxes[i]!)
      }
    },
    extremes: async () => extremes,
    close: async () => model.dispose(),
  }
}

/** What a calibration worker is told, and tells back (one reply per message, in order). */
type ToWorker = { type: 'run'; record: CalibrationRecord } | { type: 'extremes' }
type FromWorker =
  | { type: 'ready' }
  | { type: 'ran' }
  | { type: 'extremes'; extremes: Extremes }
  | { type: 'failed'; error: { message: string; code?: string; subject?: string } }

const WORKER_ROLE = 'tfmodel-calibration'

/** A runner in a worker thread that loads this module, with its own LiteRT.js. */
async function workerRunner(bytes: Uint8Array): Promise<Runner> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE, bytes } })
  const waiting: { resolve: (reply: FromWorker) => void; reject: (error: unknown) => void }[] = []
  const settle = (reply: FromWorker | Error) => {
    const call = waiting.shift()
    if (!call) return
    if (reply instanceof Error) call.reject(reply)
    else if (reply.type === 'failed') call.reject(rebuilt(reply.error))
    else call.resolve(reply)
  }
  worker.on('message', settle)
  worker.on('error', (error) => {
    while (waiting.length) settle(error)
  })
  worker.on('exit', () => {
    while (waiting.length) settle(new Error('a calibration worker stopped'))
  })
  const reply = (message?: ToWorker, transfer: ArrayBuffer[] = []) =>
    new Promise<FromWorker>((resolve, reject) => {
      waiting.push({ resolve, reject })
      if (message) worker.postMessage(message, transfer)
    })
  await reply().catch(async (error: unknown) => {
    await worker.terminate()
    throw error
  })
  return {
    run: async (record) => {
      const [own, buffers] = detached(record)
      await reply({ type: 'run', record: own }, buffers)
    },
    extremes: async () => ((await reply({ type: 'extremes' })) as Extract<FromWorker, { type: 'extremes' }>).extremes,
    close: async () => void (await worker.terminate()),
  }
}

/** An error a worker sent back, with its code when it had one. */
function rebuilt(error: { message: string; code?: string; subject?: string }): Error {
  return error.code ? new TfModelRuntimeError(error.code as RuntimeErrorCode, error.message, error.subject) : new Error(error.message)
}

/** `record` with each array copied out of the larger buffer it may view (a row of an .npy), and those
 * copies' buffers, to hand over to the worker rather than copy again. */
function detached(record: CalibrationRecord): [CalibrationRecord, ArrayBuffer[]] {
  const buffers: ArrayBuffer[] = []
  const own = <T extends Float32Array | Int32Array | Uint8Array>(data: T): T => {
    const copy = data.slice() as T
    buffers.push(copy.buffer as ArrayBuffer)
    return copy
  }
  const copied: CalibrationRecord = {}
  for (const [name, value] of Object.entries(record)) copied[name] = ArrayBuffer.isView(value) ? own(value) : { ...value, data: own(value.data) }
  return [copied, buffers]
}

/** The worker's side: a runner in its thread, answering one message at a time. */
async function serveCalibration(port: MessagePort, bytes: Uint8Array): Promise<void> {
  const post = (message: FromWorker) => port.postMessage(message)
  const failed = (error: unknown) => {
    const { message = String(error), code, subject } = error as { message?: string; code?: string; subject?: string }
    post({ type: 'failed', error: { message, code, subject } })
  }
  let runner: Runner
  try {
    runner = await localRunner(bytes)
  } catch (error) {
    failed(error)
    return
  }
  post({ type: 'ready' })
  let queue = Promise.resolve()
  port.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      try {
        if (message.type === 'run') {
          await runner.run(message.record)
          post({ type: 'ran' })
        } else {
          post({ type: 'extremes', extremes: await runner.extremes() })
        }
      } catch (error) {
        failed(error)
      }
    })
  })
}

if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  void serveCalibration(parentPort, (workerData as { bytes: Uint8Array }).bytes)
}

/** What a calibration module yields for each sample: a value per input, as `run()` takes it. */
export type CalibrationRecord = Record<string, Feed | Float32Array | Int32Array | Uint8Array>

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs'])

/** One record (a feed per input) per sample: the images of a folder, the rows
 * of an `.npy` or of each array of an `.npz`, or what a module yields. */
async function* samples(source: string, inputs: readonly TensorSpec[], options: ImageOptions): AsyncGenerator<CalibrationRecord> {
  const kind = statSync(source, { throwIfNoEntry: false })
  if (!kind) throw new InputMismatchError('FILE_NOT_FOUND', `calibration source ${source} does not exist`, source)
  const extension = extname(source).toLowerCase()
  if (MODULE_EXTENSIONS.has(extension)) {
    yield* moduleRecords(source, inputs)
    return
  }
  if (extension === '.npz') {
    yield* npzRecords(source, inputs)
    return
  }
  if (inputs.length !== 1) {
    throw new InputMismatchError('SHAPE_MISMATCH', `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); ${source} feeds one: use an .npz with an array per input, or a module`, source)
  }
  const input = inputs[0]!
  if (kind.isDirectory()) {
    const images = readdirSync(source, { withFileTypes: true })
      .filter((f) => !f.isDirectory() && IMAGE_EXTENSIONS.has(extname(f.name).toLowerCase()))
      .map((f) => f.name)
      .sort()
    if (images.length === 0) throw new InputMismatchError('SHAPE_MISMATCH', `calibration folder ${source} holds no PNG or JPEG images (its subfolders are not read)`, source)
    for (const image of images) yield { [input.name]: readInput(join(source, image), input, options) }
    return
  }
  if (extension !== '.npy') {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `calibration source ${source} is none of a folder of PNG/JPEG images, an .npy, an .npz or a module (.js, .mjs)`, source)
  }
  yield* rows({ [input.name]: readNpy(source, batchOf(input)) })
}

/** Samples run along the first axis, whatever batch size the model fixes. */
function batchOf(input: TensorSpec): TensorSpec {
  return { ...input, shape: input.shape ? [-1, ...input.shape.slice(1)] : null }
}

/** `np.savez`'s archive: one array per input, by its name (or the only array, for a one-input model). */
function* npzRecords(source: string, inputs: readonly TensorSpec[]): Generator<CalibrationRecord> {
  let arrays: Record<string, Uint8Array>
  try {
    arrays = unzipSync(new Uint8Array(readInputFile(source)))
  } catch (error) {
    if (error instanceof InputMismatchError) throw error
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `${source} is not an .npz (np.savez's zip archive): ${(error as Error).message}`, source)
  }
  const names = Object.keys(arrays).map((n) => n.replace(/\.npy$/, ''))
  const batches: Record<string, Feed> = {}
  for (const input of inputs) {
    const name = names.includes(input.name) ? input.name : inputs.length === 1 && names.length === 1 ? names[0]! : undefined
    if (name === undefined) {
      throw new InputMismatchError('SHAPE_MISMATCH', `${source} has no array for input "${input.name}" (it has ${names.join(', ')})`, source, input.name)
    }
    batches[input.name] = parseNpy(Buffer.from(arrays[`${name}.npy`]!), `${source}:${name}`, batchOf(input))
  }
  yield* rows(batches)
}

/** Record `r` holds row `r` of every batch; the batches must agree on how many rows. */
function* rows(batches: Record<string, Feed>): Generator<CalibrationRecord> {
  const counts = new Set(Object.values(batches).map((b) => b.shape[0]!))
  if (counts.size > 1) throw new InputMismatchError('SHAPE_MISMATCH', `calibration arrays hold different numbers of samples: ${[...counts].join(', ')}`, '')
  const [count = 0] = counts
  for (let r = 0; r < count; r++) {
    const record: CalibrationRecord = {}
    for (const [name, { data, shape }] of Object.entries(batches)) {
      const size = shape.slice(1).reduce((a, b) => a * b, 1)
      record[name] = { data: data.subarray(r * size, (r + 1) * size), shape: [1, ...shape.slice(1)] }
    }
    yield record
  }
}

/** Each calibration reads its module afresh: Node keeps an imported module for the process's life, so a
 * long-running build (watch mode, the dev server) would measure an edited module's old samples. */
let moduleImports = 0

/** A module whose default export is an (async) iterable of records, or a function returning one. */
async function* moduleRecords(source: string, inputs: readonly TensorSpec[]): AsyncGenerator<CalibrationRecord> {
  // A CommonJS module is kept by require's cache (under its real path), whatever the URL it is imported by.
  delete require.cache[realpathSync(source)]
  const failed = (error: unknown, when: string) => {
    if (error instanceof InputMismatchError) return error
    const why = error instanceof Error ? error.message : String(error)
    return new InputMismatchError('CALIBRATION_FAILED', `calibration module ${source} threw ${when}: ${why}`, source)
  }
  let iterable: AsyncIterable<CalibrationRecord> | Iterable<CalibrationRecord> | undefined
  try {
    const exported = ((await import(`${pathToFileURL(source).href}?calibration=${++moduleImports}`)) as { default?: unknown }).default
    iterable = (typeof exported === 'function' ? await (exported as () => unknown)() : exported) as typeof iterable
  } catch (error) {
    throw failed(error, 'while loading')
  }
  const iterates = (v: unknown): boolean => v != null && (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function')
  if (!iterates(iterable)) {
    throw new InputMismatchError('UNSUPPORTED_FORMAT', `calibration module ${source} must export default an iterable (or async iterable) of input records, or a function returning one`, source)
  }
  // for await closes the module's iterator (its finally runs) when the samples stop early.
  try {
    for await (const record of iterable!) {
      for (const input of inputs) {
        if (!record || typeof record !== 'object' || !(input.name in record)) {
          throw new InputMismatchError('SHAPE_MISMATCH', `a record of calibration module ${source} has no value for input "${input.name}"`, source, input.name)
        }
      }
      yield record
    }
  } catch (error) {
    throw failed(error, 'while yielding samples')
  }
}
