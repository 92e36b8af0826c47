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
}

export interface FetchedModel {
  modelJson: Record<string, unknown>
  /** Every shard, concatenated in manifest order. */
  weightData: ArrayBuffer
}

const DEFAULT_CACHE = 'unplugin-tfmodel'

export async function fetchModel(descriptor: ModelDescriptor, url: string, options: FetchOptions = {}): Promise<FetchedModel> {
  const doFetch = options.fetch ?? globalThis.fetch
  const cache = await openCache(options.cache)
  const total = descriptor.sizes.total
  let loaded = 0
  let reported = -1
  const progress = (bytes: number) => {
    loaded += bytes
    const fraction = total > 0 ? Math.min(loaded / total, 1) : 1
    if (fraction > reported && options.onProgress) {
      reported = fraction
      options.onProgress(fraction, { loaded: Math.min(loaded, total), total })
    }
  }

  // A bundler may give a path ("/assets/m.json"); shard paths resolve against it.
  const entry = new URL(url, globalThis.location?.href).href
  const files = [{ path: entry, bytes: descriptor.sizes.modelJson }, ...descriptor.files.map((f) => ({ path: new URL(f.path, entry).href, bytes: f.bytes }))]
  const bodies: Uint8Array[] = []
  for (const file of files) {
    const body = await fetchFile(file.path, descriptor.hash, doFetch, cache, options.signal, progress)
    if (body.byteLength !== file.bytes) {
      throw new TfModelRuntimeError(
        'INTEGRITY_ERROR',
        `${file.path} has ${body.byteLength} bytes, the build wrote ${file.bytes}`,
        file.path,
      )
    }
    bodies.push(body)
  }
  await verifyHash(descriptor.hash, bodies, url)
  if (reported < 1) options.onProgress?.(1, { loaded: total, total })

  const [json, ...shards] = bodies
  const modelJson = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>
  return { modelJson, weightData: concat(shards) }
}

async function fetchFile(
  url: string,
  hash: string,
  doFetch: typeof fetch,
  cache: Cache | undefined,
  signal: AbortSignal | undefined,
  progress: (bytes: number) => void,
): Promise<Uint8Array> {
  if (signal?.aborted) throw aborted(url, signal)
  const key = cacheKey(url, hash)
  const cached = cache ? await cache.match(key) : undefined
  let response: Response
  if (cached) {
    response = cached
  } else {
    try {
      response = await doFetch(url, signal ? { signal } : {})
    } catch (error) {
      if (signal?.aborted) throw aborted(url, signal)
      throw new TfModelRuntimeError('NETWORK_ERROR', `could not fetch ${url}: ${(error as Error).message}`, url, { cause: error })
    }
    if (!response.ok) {
      throw new TfModelRuntimeError('NETWORK_ERROR', `could not fetch ${url}: HTTP ${response.status}`, url)
    }
  }
  const body = await readBody(response, url, signal, progress)
  if (cache && !cached) {
    await cache.put(key, new Response(body.slice(), { headers: { 'content-type': 'application/octet-stream' } }))
  }
  return body
}

async function readBody(response: Response, url: string, signal: AbortSignal | undefined, progress: (bytes: number) => void): Promise<Uint8Array> {
  const reader = response.body?.getReader()
  if (!reader) {
    const bytes = new Uint8Array(await response.arrayBuffer())
    progress(bytes.byteLength)
    return bytes
  }
  const chunks: Uint8Array[] = []
  try {
    for (;;) {
      if (signal?.aborted) {
        await reader.cancel()
        throw aborted(url, signal)
      }
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      progress(value.byteLength)
    }
  } catch (error) {
    if (error instanceof TfModelRuntimeError) throw error
    if (signal?.aborted) throw aborted(url, signal)
    throw new TfModelRuntimeError('NETWORK_ERROR', `reading ${url} failed: ${(error as Error).message}`, url, { cause: error })
  }
  return new Uint8Array(concat(chunks))
}

function concat(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out.buffer
}

/** Cache keys carry the content hash, so a rebuilt model never hits an old entry. */
function cacheKey(url: string, hash: string): string {
  const key = new URL(url)
  key.searchParams.set('tfmodel-hash', hash)
  return key.href
}

async function openCache(option: boolean | string | undefined): Promise<Cache | undefined> {
  if (!option || typeof caches === 'undefined') return undefined
  try {
    return await caches.open(option === true ? DEFAULT_CACHE : option)
  } catch {
    return undefined // Cache Storage refused (e.g. an opaque origin): load from the network.
  }
}

async function verifyHash(expected: string, bodies: Uint8Array[], url: string): Promise<void> {
  const subtle = globalThis.crypto?.subtle
  if (!subtle || !expected) return // no WebCrypto outside secure contexts; sizes were still checked
  const digest = new Uint8Array(await subtle.digest('SHA-256', concat(bodies)))
  const actual = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, expected.length)
  if (actual !== expected) {
    throw new TfModelRuntimeError('INTEGRITY_ERROR', `the files of ${url} do not match the content hash the build wrote`, url)
  }
}

function aborted(url: string, signal: AbortSignal): TfModelRuntimeError {
  return new TfModelRuntimeError('ABORTED', `loading ${url} was aborted`, url, { cause: signal.reason })
}
