// The runtime's failure modes, each with its code: network, integrity (size
// or content hash), abort, backend, bad inputs. The model is a real build of
// the test app, loaded in Node through a `fetch` that reads the built files.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

import type { TfModel } from '../src/runtime/index.js'
import { buildApp, outDirFor } from './bundlers.js'
import { root } from './fixtures.js'

const appDir = join(root, 'test', 'apps', 'basic')
let model: TfModel

function fetchWith(change: (url: string, bytes: Uint8Array<ArrayBuffer>) => Response): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = input.toString()
    return change(url, new Uint8Array(readFileSync(fileURLToPath(url))))
  }) as typeof fetch
}

const files = fetchWith((_, bytes) => new Response(bytes))

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  )
  expect(error, 'expected a failure').toBeDefined()
  return error!
}

describe('runtime', () => {
  beforeAll(async () => {
    const outDir = outDirFor('runtime')
    await buildApp('rollup', appDir, join(appDir, 'src', 'main.js'), outDir, {
      cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')),
      dts: false,
    })
    model = ((await import(pathToFileURL(join(outDir, 'main.js')).href)) as { model: TfModel }).model
  })

  it('NETWORK_ERROR when a file is not served', async () => {
    const missing = fetchWith((url, bytes) => (url.endsWith('.bin') ? new Response('gone', { status: 404 }) : new Response(bytes)))
    const error = await failure(model.load({ fetch: missing, backend: 'cpu' }))
    expect(error.code).toBe('NETWORK_ERROR')
    expect(error.message).toMatch(/\.bin: HTTP 404/)
  })

  it('INTEGRITY_ERROR when a shard is short, or differs from what the build hashed', async () => {
    const short = fetchWith((url, bytes) => new Response(url.endsWith('.bin') ? bytes.slice(1) : bytes))
    expect((await failure(model.load({ fetch: short, backend: 'cpu' }))).code).toBe('INTEGRITY_ERROR')
    const flipped = fetchWith((url, bytes) => {
      if (url.endsWith('.bin')) bytes[0] = bytes[0]! ^ 0xff
      return new Response(bytes)
    })
    const error = await failure(model.load({ fetch: flipped, backend: 'cpu' }))
    expect(error.code).toBe('INTEGRITY_ERROR')
    expect(error.message).toContain('content hash')
  })

  it('ABORTED when the signal fires', async () => {
    const controller = new AbortController()
    controller.abort()
    expect((await failure(model.load({ fetch: files, backend: 'cpu', signal: controller.signal }))).code).toBe('ABORTED')
  })

  it('BACKEND_UNSUPPORTED for a backend that is not installed or cannot run here', async () => {
    expect((await failure(model.load({ fetch: files, backend: 'webgpu' }))).code).toBe('BACKEND_UNSUPPORTED')
    // WebGL is installed, but Node has no WebGL context.
    expect((await failure(model.load({ fetch: files, backend: 'webgl' }))).code).toBe('BACKEND_UNSUPPORTED')
  })

  it('INVALID_INPUT for a wrong input name or size, naming it', async () => {
    const loaded = await model.load({ fetch: files, backend: 'cpu' })
    const wrongName = await failure(loaded.run({ inptu: new Float32Array(24 * 24 * 3) } as never))
    expect(wrongName.code).toBe('INVALID_INPUT')
    expect(wrongName.message).toContain('"input"')
    const wrongSize = await failure(loaded.run({ input: new Float32Array(10) }))
    expect(wrongSize.code).toBe('INVALID_INPUT')
    loaded.dispose()
  })

  it('BASE_URL_REQUIRED for a relative model URL outside a page, and loads with baseUrl', async () => {
    const descriptor = model as unknown as { url: string; update(next: { url: string }): void }
    const absolute = descriptor.url
    const base = new URL('..', absolute).href // the built app's folder, above assets/
    descriptor.update({ url: `./${absolute.slice(base.length)}` })
    try {
      const error = await failure(model.load({ fetch: files, backend: 'cpu' }))
      expect(error.code).toBe('BASE_URL_REQUIRED')
      expect(error.message).toContain('baseUrl')
      const loaded = await model.load({ fetch: files, backend: 'cpu', baseUrl: base })
      expect(loaded.backend).toBe('cpu')
      loaded.dispose()
    } finally {
      descriptor.update({ url: absolute })
    }
  })

  it('two loads of the same model at once share one download', async () => {
    const fetched: string[] = []
    const counting = fetchWith((url, bytes) => {
      fetched.push(url)
      return new Response(bytes)
    })
    ;(await model.load({ fetch: counting, backend: 'cpu' })).dispose()
    const alone = fetched.length
    expect(alone).toBeGreaterThan(1)
    fetched.length = 0
    const progress: number[][] = [[], []]
    const both = await Promise.all([0, 1].map((i) => model.load({ fetch: counting, backend: 'cpu', onProgress: (f) => progress[i]!.push(f) })))
    expect(fetched).toHaveLength(alone)
    for (const fractions of progress) expect(fractions.at(-1)).toBe(1)
    for (const loaded of both) loaded.dispose()
  })

  it('falls back from a backend that fails its first run', async () => {
    // No backend forced: WebGL cannot start in Node, WASM is tried next (or CPU).
    const loaded = await model.load({ fetch: files })
    expect(['wasm', 'cpu']).toContain(loaded.backend)
    loaded.dispose()
  })
})
