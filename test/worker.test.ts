// A model imported in a Web Worker: Vite bundles workers with their own
// plugin list, which the plugin joins. The worker app (test/apps/worker) is
// built in both of Vite's worker formats, served on loopback, and run in
// Chromium: the page posts each test image to the worker, as an ImageBitmap
// and as ImageData, and the worker's detections must be TensorFlow's. The
// same app runs under `vite dev`.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import { join, relative } from 'node:path'
import type { Browser } from 'playwright-core'
import type { InlineConfig, Plugin } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Options } from '../src/plugin/index.js'
import { outDirFor } from './bundlers.js'
import { type Detection, expectSameDetections, haveChromium, launch, tensorflowDetections } from './chromium.js'
import { fixture, root } from './fixtures.js'
import { serveStatic } from './static-server.js'

const appDir = join(root, 'test', 'apps', 'worker')

/** A worker plugin of the app's own: the worker imports what it provides, so the build fails if ours replaced it. */
function settingsPlugin(): Plugin {
  const id = '\0detect-settings'
  return {
    name: 'detect-settings',
    resolveId: (source) => (source === 'virtual:detect-settings' ? id : null),
    load: (source) => (source === id ? 'export const minScore = 0.5\n' : null),
  }
}

async function viteBuild(config: InlineConfig, options: Options): Promise<void> {
  const { build } = await import('vite')
  const { default: tfmodel } = await import('../src/vite.js')
  await build({ base: './', configFile: false, logLevel: 'silent', plugins: [tfmodel(options)], ...config })
}

interface WorkerResult {
  index: number
  input: 'ImageBitmap' | 'ImageData'
  backend: string
  detections: Detection[]
}

describe.skipIf(!haveChromium)('a detector in a Web Worker, built by Vite', () => {
  let browser: Browser
  const expected = tensorflowDetections()

  beforeAll(async () => {
    browser = await launch()
  })

  afterAll(async () => {
    await browser?.close()
  })

  /** Runs the app at `url`; checks every image's detections and returns the one backend the worker ran on. */
  async function detectInWorker(url: string, label: string): Promise<string> {
    const page = await browser.newPage()
    try {
      await page.goto(url)
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 90_000 })
      const text = (await page.locator('#result').textContent())!
      expect(await page.evaluate(() => document.body.dataset.state), text).toBe('done')
      const results = JSON.parse(text) as WorkerResult[]
      expect(results.map((r) => `${r.index} ${r.input}`)).toEqual(expected.flatMap((_, index) => [`${index} ImageBitmap`, `${index} ImageData`]))
      for (const { index, input, backend, detections } of results) {
        expectSameDetections(detections, expected[index]!, `${label}, ${backend}, image ${index} as ${input}`)
      }
      const backends = [...new Set(results.map((r) => r.backend))]
      expect(backends).toHaveLength(1)
      return backends[0]!
    } finally {
      await page.close()
    }
  }

  // 'iife' is Vite's default: Rolldown inlines the loader's lazy TF.js imports into the one worker file.
  it.each(['iife', 'es'] as const)('detects what TensorFlow detected, with worker.format %s', async (format) => {
    const outDir = outDirFor(`worker-${format}`)
    // Beside the output, which Vite empties after the plugin has written it.
    const dts = `${outDir}.d.ts`
    await viteBuild(
      {
        root: appDir,
        worker: { format, plugins: () => [settingsPlugin()] },
        build: { outDir, emptyOutDir: true },
      },
      { cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')), dts },
    )
    // Only the worker imports the model, and its types still reach the declaration file.
    const declarations = readFileSync(dts, 'utf8')
    expect(declarations).toContain("declare module '.*/fixtures/detector/model.ckpt?quantize' {")
    expect(declarations).toContain("'image_tensor': { dtype: 'int32'; shape: [1, 64, 64, 3] }")

    const server = await serveStatic(outDir)
    try {
      // The default backend (WebGL on an OffscreenCanvas where the worker has it), and WASM, whose binaries the worker fetches.
      const ran = [await detectInWorker(server.url, format), await detectInWorker(`${server.url}?backend=wasm`, format)]
      expect(['webgl', 'wasm', 'cpu']).toContain(ran[0])
      expect(ran[1]).toBe('wasm')
      expect(server.requests.some((p) => p.endsWith('.wasm'))).toBe(true)
    } finally {
      await server.close()
    }
  }, 120_000)

  it('detects in the worker under vite dev too', async () => {
    const { createServer } = await import('vite')
    const { default: tfmodel } = await import('../src/vite.js')
    // In dev Vite serves worker modules through the app's own plugins, not `worker.plugins`.
    const server = await createServer({
      root: appDir,
      configFile: false,
      logLevel: 'silent',
      plugins: [tfmodel({ cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')), dts: false }), settingsPlugin()],
      server: { host: '127.0.0.1', port: 0, strictPort: false },
    })
    await server.listen()
    try {
      const { port } = server.httpServer!.address() as AddressInfo
      expect(['webgl', 'wasm', 'cpu']).toContain(await detectInWorker(`http://127.0.0.1:${port}/`, 'dev'))
    } finally {
      await server.close()
    }
  }, 120_000)
})

describe('a model imported by both a page and its worker', () => {
  it('converts once and is emitted once, the worker bundle referencing the same files', async () => {
    const outDir = outDirFor('worker-shared')
    const model = relative(outDir, fixture('detector').path('model.ckpt')).split('\\').join('/')
    writeFileSync(join(outDir, 'main.js'), `import detector from './${model}?quantize'\nexport const sizes = detector.sizes\nexport const worker = new Worker(new URL('./detect.js', import.meta.url), { type: 'module' })\n`)
    writeFileSync(join(outDir, 'detect.js'), `import detector from './${model}?quantize'\nself.onmessage = () => detector.load()\n`)
    const logs: string[] = []
    const built = join(outDir, 'dist')
    await viteBuild(
      { root: outDir, worker: { format: 'es' }, build: { outDir: built, rolldownOptions: { input: join(outDir, 'main.js') } } },
      { cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')), dts: false, debug: (message) => logs.push(message) },
    )
    expect(logs.filter((l) => l.startsWith('converted')), logs.join('\n')).toHaveLength(1)
    const assets = readdirSync(join(built, 'assets'))
    const entries = assets.filter((f) => /^model-.*\.json$/.test(f))
    expect(entries).toHaveLength(1)
    const scripts = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(built, 'assets', f), 'utf8'))
    const workerScript = scripts.find((code) => code.includes('self.onmessage'))
    expect(workerScript).toContain(entries[0])
    expect(scripts.filter((code) => code.includes(entries[0]!))).toHaveLength(2)
  })
})
