// End to end in a real browser (Debian's Chromium through playwright-core):
// the web example, built, served on loopback, detects shapes in its bundled
// images and draws what TensorFlow detected; the Capacitor build works from a
// non-root base path with no request leaving its origin.
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildExample } from './browser-apps.js'
import { type Detection, expectSameDetections, haveChromium, launch, tensorflowDetections } from './chromium.js'
import { root } from './fixtures.js'
import { serveStatic, type StaticServer } from './static-server.js'

const artifacts = join(root, 'test-results')

async function detectionsOnPage(page: Page): Promise<Detection[]> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 90_000 })
  const error = await page.locator('#error').textContent()
  expect(await page.evaluate(() => document.body.dataset.state), error ?? '').toBe('done')
  return JSON.parse((await page.locator('#detections').textContent())!) as Detection[]
}

describe.skipIf(!haveChromium)('examples/web in Chromium', () => {
  let server: StaticServer
  let browser: Browser
  const expected = tensorflowDetections()

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true })
    server = await serveStatic(await buildExample('web/vite.config.ts'))
    browser = await launch()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it.each(['webgl', 'wasm'])('draws the detections TensorFlow made, on %s', async (backend) => {
    const page = await browser.newPage()
    await page.goto(`${server.url}?backend=${backend}`)
    // The app detects on the first test image as soon as the model has loaded.
    expectSameDetections(await detectionsOnPage(page), expected[0]!, `${backend}, first load`)
    expect(await page.locator('#backend').textContent()).toBe(backend)
    for (const [index, theirs] of expected.entries()) {
      await page.evaluate(() => (document.body.dataset.state = 'picking'))
      await page.getByRole('button', { name: `Test image ${index + 1}` }).click()
      expectSameDetections(await detectionsOnPage(page), theirs, `${backend}, image ${index}`)
      const listed = await page.getByRole('list', { name: 'Detected shapes' }).locator('li').count()
      expect(listed).toBe(theirs.length)
      if (index === 1) await page.screenshot({ path: join(artifacts, `web-${backend}.png`) })
    }
    await page.close()
  }, 120_000)

  it('draws the detections TensorFlow made from the full-int8 .tflite on LiteRT.js (?format=tflite), decoded in the app', async () => {
    const page = await browser.newPage()
    const before = server.requests.length
    await page.goto(`${server.url}?format=tflite`)
    expectSameDetections(await detectionsOnPage(page), expected[0]!, 'tflite, first load')
    expect(await page.locator('#runtime').textContent()).toBe('LiteRT.js')
    expect(await page.locator('#backend').textContent()).toBe('wasm')
    for (const [index, theirs] of expected.entries()) {
      await page.evaluate(() => (document.body.dataset.state = 'picking'))
      await page.getByRole('button', { name: `Test image ${index + 1}` }).click()
      expectSameDetections(await detectionsOnPage(page), theirs, `tflite, image ${index}`)
    }
    // The page downloaded LiteRT.js's one build and the .tflite, and no TF.js.
    const fetched = server.requests.slice(before).filter((p) => /\.(wasm|tflite|bin)$/.test(p) || p.includes('_tfmodel-tfjs'))
    expect(fetched.filter((p) => p.endsWith('.tflite'))).toHaveLength(1)
    expect(fetched.filter((p) => /litert_wasm.*\.wasm$/.test(p))).toHaveLength(1)
    expect(fetched.filter((p) => p.endsWith('.bin') || p.includes('_tfmodel-tfjs'))).toEqual([])
    await page.screenshot({ path: join(artifacts, 'web-tflite.png') })
    await page.close()
  }, 120_000)

  it('compares float32, dynamic-range int8 and full int8 side by side (?format=tflite&compare), each finding what TensorFlow found', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}?format=tflite&compare&image=1`)
    await detectionsOnPage(page)
    await page.waitForFunction(() => document.body.dataset.compared === 'done' || document.body.dataset.state === 'error', null, { timeout: 90_000 })
    const rows = await page.locator('#variants-body tr').evaluateAll((trs) =>
      trs.map((tr) => ({ variant: (tr as HTMLElement).dataset.variant!, cells: Array.from(tr.children, (td) => td.textContent!), detections: JSON.parse((tr as HTMLElement).dataset.detections!) as Detection[] })),
    )
    expect(rows.map((r) => r.variant)).toEqual(['int8-full', 'int8', 'float32'])
    for (const row of rows) expectSameDetections(row.detections, expected[1]!, `compare: ${row.variant}`)
    const kb = (text: string) => Number.parseFloat(text) * (text.endsWith('MB') ? 1024 : 1)
    const [full, dynamic, float] = rows.map((r) => kb(r.cells[1]!))
    // Both 8-bit files are about a quarter of the float one.
    expect(full!).toBeLessThan(float! / 3)
    expect(dynamic!).toBeLessThan(float! / 3)
    await page.screenshot({ path: join(artifacts, 'web-tflite-compare.png'), fullPage: true })
    await page.close()
  }, 120_000)

  it('reports monotonic progress ending at the byte total; a cached second load requests nothing', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}?backend=cpu`)
    await detectionsOnPage(page) // the app's own load, with caching on
    const before = server.requests.length
    const events = await page.evaluate(async () => {
      const { detector } = (globalThis as unknown as { example: { detector: { load: (o: object) => Promise<{ dispose(): void }> } } }).example
      const seen: [number, number, number][] = []
      const model = await detector.load({ backend: 'cpu', cache: true, onProgress: (f: number, b: { loaded: number; total: number }) => seen.push([f, b.loaded, b.total]) })
      model.dispose()
      return seen
    })
    const modelRequests = server.requests.slice(before).filter((p) => /\.(json|bin)$/.test(p))
    expect(modelRequests).toEqual([])
    expect(events.length).toBeGreaterThan(0)
    for (let i = 1; i < events.length; i++) expect(events[i]![0]).toBeGreaterThan(events[i - 1]![0])
    const [fraction, loaded, total] = events.at(-1)!
    expect(fraction).toBe(1)
    expect(loaded).toBe(total)
    const sizes = await page.evaluate(() => (globalThis as unknown as { example: { detector: { sizes: { total: number } } } }).example.detector.sizes.total)
    expect(total).toBe(sizes)

    // Without the cache, progress comes from the network, byte by byte.
    const network = await page.evaluate(async () => {
      const { detector } = (globalThis as unknown as { example: { detector: { load: (o: object) => Promise<{ dispose(): void }> } } }).example
      const seen: number[] = []
      const model = await detector.load({ backend: 'cpu', onProgress: (f: number) => seen.push(f) })
      model.dispose()
      return seen
    })
    for (let i = 1; i < network.length; i++) expect(network[i]!).toBeGreaterThan(network[i - 1]!)
    expect(network.at(-1)).toBe(1)
    await context.close()
  }, 120_000)
})

describe.skipIf(!haveChromium)('examples/capacitor', () => {
  it('works from a non-root base path with no request leaving its own origin, as TF.js and as TFLite', async () => {
    const dist = await buildExample('capacitor/vite.config.ts')
    // The app ships one .tflite, the full-integer one; the web example's other two are left out.
    const tflite = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.tflite'))
    expect(tflite).toHaveLength(1)
    const server = await serveStatic(dist, '/capacitor/app/')
    const browser = await launch()
    try {
      const page = await browser.newPage()
      const origins = new Set<string>()
      page.on('request', (request) => origins.add(new URL(request.url()).origin))
      await page.goto(`${server.url}?backend=wasm&image=2`)
      expectSameDetections(await detectionsOnPage(page), tensorflowDetections()[2]!, 'capacitor, image 2')
      expect([...origins].filter((o) => o !== new URL(server.url).origin && o !== 'null')).toEqual([])
      expect(server.requests.some((p) => p.endsWith('.wasm'))).toBe(true)
      expect(server.requests.filter((p) => !p.startsWith('/capacitor/app/'))).toEqual([])
      await page.screenshot({ path: join(artifacts, 'capacitor-wasm.png') })

      // The TFLite build offline too: LiteRT.js's WASM is among the app's own files.
      const before = server.requests.length
      await page.goto(`${server.url}?format=tflite&image=2`)
      expectSameDetections(await detectionsOnPage(page), tensorflowDetections()[2]!, 'capacitor tflite, image 2')
      expect([...origins].filter((o) => o !== new URL(server.url).origin && o !== 'null')).toEqual([])
      const fetched = server.requests.slice(before)
      expect(fetched.some((p) => /^\/capacitor\/app\/assets\/litert_wasm.*\.wasm$/.test(p)), fetched.join(' ')).toBe(true)
      expect(fetched.filter((p) => !p.startsWith('/capacitor/app/'))).toEqual([])
    } finally {
      await browser.close()
      await server.close()
    }
  }, 120_000)
})
