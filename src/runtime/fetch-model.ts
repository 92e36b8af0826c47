// Fetches model.json and its weight shards with byte-level progress, an
// abort signal, integrity checks, and optional Cache Storage caching.
import { TfModelRuntimeError } from './errors.js'
import type { ModelDescriptor } from './types.js'

export interface FetchOptions {
  /** Called with the fraction loaded (0–1), monotonically, ending at exactly 1. */
  onProgress?: (fraction: number, bytes: { loaded: number; total: number }) => void
  signal?: AbortSignal
  /** Keep the files in Cache Storage, keyed by the model's content hash, so a
   * second start needs no network. `true` uses the cache named `unplugin-tfmodel`. */
  cache?: boolean | string
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch
  /** What a relative model URL resolves against (default: the page's URL). Outside a
   * page (Node, a test runner) a bundler's relative URL needs one, e.g. `pathToFileURL(outDir + '/')`. */
  baseUrl?: string | URL
}

export interface FetchedModel {
  modelJson: Record<string, unknown>
  /** Every shard, concatenated in manifest order. */
  weightData: ArrayBuffer
}

const DEFAULT_CACHE = 'unplugin-tfmodel'
const HASH_PARAMETER = 'tfmodel-hash'

function absoluteUrl(url: string, base: string | URL | undefined): string {
  try {
    return new URL(url, base).href
  } catch (error) {
    throw new TfModelRuntimeError(
      'BASE_URL_REQUIRED',
      `the model's URL "${url}" is relative and there is no page to resolve it against: pass load({ baseUrl }) (the built app's URL or folder), or a fetch that takes relative URLs`,
      url,
      { cause: error },
    )
  }
}

interface ModelFile {
  url: string
  bytes: number
}

/**
 * model.json and every shard, streamed into one buffer (the content hash
 * covers exactly that sequence). A copy that fails the integrity checks and
 * came from Cache Storage is dropped and fetched again.
 */
export async function fetchModel(descriptor: ModelDescriptor, url: string, options: FetchOptions = {}): Promise<FetchedModel> {
  const buffer = await fetchModelBytes(descriptor, url, options)
  const jsonBytes = descriptor.sizes.modelJson
  const modelJson = JSON.parse(new TextDecoder().decode(buffer.subarray(0, jsonBytes))) as Record<string, unknown>
  return { modelJson, weightData: buffer.buffer.slice(buffer.byteOffset + jsonBytes, buffer.byteOffset + buffer.byteLength) as ArrayBuffer }
}

/** The entry file then every shard, as one buffer (for a `.tflite`: the file itself), with the same checks. */
export async function fetchModelBytes(descriptor: ModelDescriptor, url: string, options: FetchOptions = {}): Promise<Uint8Array> {
  // A bundler may give a path ("/assets/m.json"); shard paths resolve against it.
  const entry = absoluteUrl(url, options.baseUrl ?? globalThis.location?.href)
  // Two loads of one model at once (React StrictMode mounts twice) share one
  // download; a load with its own abort signal, or another fetch, keeps its own.
  const shareable = !options.signal
  const key = `${entry}#${descriptor.hash}`
  const shared = shareable ? inFlight.get(key) : undefined
  if (shared && shared.fetch === options.fetch) {
    if (options.onProgress) shared.listeners.add(options.onProgress)
    return shared.download
  }
  const listeners = new Set<ProgressListener>(options.onProgress ? [options.onProgress] : [])
  const download = downloadModel(descriptor, entry, options, (fraction, bytes) => {
    for (const listener of listeners) listener(fraction, bytes)
  })
  if (!shareable || shared) return download
  inFlight.set(key, { download, listeners, fetch: options.fetch })
  try {
    return await download
  } finally {
    inFlight.delete(key)
  }
}

type ProgressListener = NonNullable<FetchOptions['onProgress']>

/** Downloads in progress, by entry URL and content hash. */
const inFlight = new Map<string, { download: Promise<Uint8Array>; listeners: Set<ProgressListener>; fetch: FetchOptions['fetch'] }>()

async function downloadModel(descriptor: ModelDescriptor, entry: string, options: FetchOptions, onProgress: ProgressListener): Promise<Uint8Array> {
  const files: ModelFile[] = [
    { url: entry, bytes: descriptor.sizes.modelJson },
    ...descriptor.files.map((f) => ({ url: new URL(f.path, entry).href, bytes: f.bytes })),
  ]
  const cache = await openCache(options.cache)
  const progress = progressReporter(descriptor.sizes.total, onProgress)
  let buffer: Uint8Array
  try {
    buffer = await download(files, descriptor.hash, options, cache, progress)
  } catch (error) {
    if (!(error instanceof TfModelRuntimeError) || error.code !== 'INTEGRITY_ERROR' || !cache) throw error
    await forget(cache, files, descriptor.hash)
    buffer = await download(files, descriptor.hash, options, undefined, progress)
  }
  if (cache) await storeAll(cache, files, descriptor.hash, buffer)
  progress.finish()
  return buffer
}

async function download(
  files: ModelFile[],
  hash: string,
  options: FetchOptions,
  cache: Cache | undefined,
  progress: ProgressReporter,
): Promise<Uint8Array> {
  const doFetch = options.fetch ?? globalThis.fetch
  const buffer = new Uint8Array(files.reduce((sum, f) => sum + f.bytes, 0))
  let offset = 0
  for (const file of files) {
    const response = (await cachedResponse(cache, file.url, hash)) ?? (await fetchResponse(doFetch, file.url, options.signal))
    const received = await readInto(response, buffer, offset, file, options.signal, progress)
    if (received !== file.bytes) {
      throw new TfModelRuntimeError('INTEGRITY_ERROR', `${file.url} has ${received} bytes, the build wrote ${file.bytes}`, file.url)
    }
    offset += received
  }
  await verifyHash(hash, buffer, files[0]!.url)
  return buffer
}

async function fetchResponse(doFetch: typeof fetch, url: string, signal: AbortSignal | undefined): Promise<Response> {
  if (signal?.aborted) throw aborted(url, signal)
  let response: Response
  try {
    response = await doFetch(url, signal ? { signal } : {})
  } catch (error) {
    if (signal?.aborted) throw aborted(url, signal)
    throw new TfModelRuntimeError('NETWORK_ERROR', `could not fetch ${url}: ${(error as Error).message}`, url, { cause: error })
  }
  if (!response.ok) throw new TfModelRuntimeError('NETWORK_ERROR', `could not fetch ${url}: HTTP ${response.status}`, url)
  return response
}

/** Streams a response into `buffer` at `offset`; returns the bytes received (more than expected is an error). */
async function readInto(
  response: Response,
  buffer: Uint8Array,
  offset: number,
  file: ModelFile,
  signal: AbortSignal | undefined,
  progress: ProgressReporter,
): Promise<number> {
  let received = 0
  const take = (chunk: Uint8Array) => {
    if (received + chunk.byteLength > file.bytes) {
      throw new TfModelRuntimeError('INTEGRITY_ERROR', `${file.url} is longer than the ${file.bytes} bytes the build wrote`, file.url)
    }
    buffer.set(chunk, offset + received)
    received += chunk.byteLength
    progress.add(chunk.byteLength)
  }
  const reader = response.body?.getReader()
  if (!reader) {
    take(new Uint8Array(await response.arrayBuffer()))
    return received
  }
  try {
    for (;;) {
      if (signal?.aborted) throw aborted(file.url, signal)
      const { done, value } = await reader.read()
      if (done) return received
      take(value)
    }
  } catch (error) {
    await reader.cancel().catch(() => {})
    if (error instanceof TfModelRuntimeError) throw error
    if (signal?.aborted) throw aborted(file.url, signal)
    throw new TfModelRuntimeError('NETWORK_ERROR', `reading ${file.url} failed: ${(error as Error).message}`, file.url, { cause: error })
  }
}

interface ProgressReporter {
  add(bytes: number): void
  /** Reports completion (1) if the last chunk did not already. */
  finish(): void
}

/** Fractions strictly increasing, the last one exactly 1 with `loaded === total`. */
function progressReporter(total: number, onProgress: FetchOptions['onProgress']): ProgressReporter {
  let loaded = 0
  let reported = -1
  const report = (fraction: number) => {
    if (onProgress && fraction > reported) {
      reported = fraction
      onProgress(fraction, { loaded: fraction === 1 ? total : Math.min(loaded, total), total })
    }
  }
  return {
    add(bytes) {
      loaded += bytes
      report(total > 0 ? Math.min(loaded / total, 1) : 1)
    },
    finish: () => report(1),
  }
}

// ---- Cache Storage: best effort; a failing cache never fails a load ----------------

/** Cache keys carry the content hash, so a rebuilt model never hits an old entry. */
function cacheKey(url: string, hash: string): string {
  const key = new URL(url)
  key.searchParams.set(HASH_PARAMETER, hash)
  return key.href
}

async function openCache(option: boolean | string | undefined): Promise<Cache | undefined> {
  if (!option || typeof caches === 'undefined') return undefined
  try {
    return await caches.open(option === true ? DEFAULT_CACHE : option)
  } catch {
    return undefined // Cache Storage refused (an opaque origin, a private window): load from the network.
  }
}

async function cachedResponse(cache: Cache | undefined, url: string, hash: string): Promise<Response | undefined> {
  try {
    return (await cache?.match(cacheKey(url, hash))) ?? undefined
  } catch {
    return undefined
  }
}

/** Stores every file under this hash and drops entries of the same files under other hashes. */
async function storeAll(cache: Cache, files: ModelFile[], hash: string, buffer: Uint8Array): Promise<void> {
  try {
    let offset = 0
    for (const file of files) {
      const key = cacheKey(file.url, hash)
      if (!(await cache.match(key))) {
        const body = buffer.slice(offset, offset + file.bytes)
        await cache.put(key, new Response(body, { headers: { 'content-type': 'application/octet-stream' } }))
      }
      offset += file.bytes
    }
    const current = new Set(files.map((f) => cacheKey(f.url, hash)))
    const paths = new Set(files.map((f) => new URL(f.url).pathname))
    for (const request of await cache.keys()) {
      const key = new URL(request.url)
      if (key.searchParams.has(HASH_PARAMETER) && paths.has(key.pathname) && !current.has(key.href)) await cache.delete(request)
    }
  } catch {
    // Full, or a scheme Cache Storage does not take (capacitor://): the model still loaded.
  }
}

async function forget(cache: Cache, files: ModelFile[], hash: string): Promise<void> {
  await Promise.all(files.map((f) => cache.delete(cacheKey(f.url, hash)).catch(() => false)))
}

async function verifyHash(expected: string, buffer: Uint8Array, url: string): Promise<void> {
  const subtle = globalThis.crypto?.subtle
  if (!subtle || !expected) return // no WebCrypto outside secure contexts; sizes were still checked
  const digest = new Uint8Array(await subtle.digest('SHA-256', buffer as Uint8Array<ArrayBuffer>))
  const actual = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, expected.length)
  if (actual !== expected) {
    throw new TfModelRuntimeError('INTEGRITY_ERROR', `the files of ${url} do not match the content hash the build wrote`, url)
  }
}

function aborted(url: string, signal: AbortSignal): TfModelRuntimeError {
  return new TfModelRuntimeError('ABORTED', `loading ${url} was aborted`, url, { cause: signal.reason })
}
