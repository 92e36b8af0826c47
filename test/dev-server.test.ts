// `vite dev` with a training directory: a new checkpoint (written the way
// TensorFlow writes one: data first, state file last) is converted and pushed
// over HMR; a broken one shows an error while the last good model stays served.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { ViteDevServer } from 'vite'

import { fixture, type JsonTensor, readJson } from './fixtures.js'
import { outDirFor } from './bundlers.js'

const train = fixture('train_dir')

interface HmrMessage {
  type: string
  event?: string
  data?: { id: string; descriptor: { url: string } }
  err?: { message: string }
}

function copyStep(to: string, step: number, truncate = false): void {
  for (const suffix of ['.data-00000-of-00001', '.index', '.meta']) {
    const name = `model.ckpt-${step}${suffix}`
    copyFileSync(train.path(name), join(to, name))
    if (truncate && suffix.startsWith('.data')) truncateSync(join(to, name), 6)
  }
}

function writeState(dir: string, step: number): void {
  writeFileSync(join(dir, 'checkpoint'), `model_checkpoint_path: "model.ckpt-${step}"\nall_model_checkpoint_paths: "model.ckpt-${step}"\n`)
}

describe('vite dev', () => {
  let server: ViteDevServer
  let base: string
  let socket: WebSocket
  const messages: HmrMessage[] = []
  let appDir: string
  let modelDir: string

  beforeAll(async () => {
    appDir = outDirFor('dev')
    modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    copyStep(modelDir, 100)
    writeState(modelDir, 100)
    writeFileSync(join(appDir, 'index.html'), '<script type="module" src="/main.js"></script>\n')
    writeFileSync(join(appDir, 'main.js'), "import model from './train'\nexport default model\n")
    const { createServer } = await import('vite')
    const { default: tfmodel } = await import('../src/vite.js')
    server = await createServer({
      root: appDir,
      configFile: false,
      logLevel: 'silent',
      plugins: [tfmodel({ cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')), dts: false })],
      server: { host: '127.0.0.1', port: 0, strictPort: false },
    })
    await server.listen()
    base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`
    socket = new WebSocket(base.replace('http', 'ws'), 'vite-hmr')
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as HmrMessage))
    await new Promise((resolve) => socket.once('open', resolve))
  })

  afterAll(async () => {
    socket?.close()
    await server?.close()
  })

  async function text(path: string): Promise<string> {
    const response = await fetch(new URL(path, base))
    expect(response.status, path).toBe(200)
    return response.text()
  }

  /** The model.json URL the loader module points at. */
  async function modelUrl(): Promise<string> {
    const main = await text('/main.js')
    const modulePath = /from "([^"]+tfmodel[^"]*)"/.exec(main)?.[1]
    expect(modulePath, main).toBeDefined()
    const loader = await text(modulePath!)
    return JSON.parse(/descriptor\.url = ("[^"]+")/.exec(loader)![1]!) as string
  }

  /** The float32 weights served at `url`, by name. */
  async function servedWeights(url: string): Promise<Record<string, Float32Array>> {
    const json = JSON.parse(await text(url)) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[] }
    const group = json.weightsManifest[0]!
    const shards = await Promise.all(group.paths.map(async (p) => Buffer.from(await (await fetch(new URL(p, new URL(url, base)))).arrayBuffer())))
    const bytes = Buffer.concat(shards)
    const weights: Record<string, Float32Array> = {}
    let offset = 0
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1)
      weights[w.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count))
      offset += 4 * count
    }
    return weights
  }

  function expectStepWeights(weights: Record<string, Float32Array>, step: number): void {
    const tensors = readJson<{ tensors: Record<string, JsonTensor> }>(train.path(train.steps![String(step)]!)).tensors
    for (const name of ['W', 'b']) {
      const want = Buffer.from(tensors[name]!.data as string, 'base64')
      expect(Buffer.from(weights[name]!.buffer).equals(want), `${name} at step ${step}`).toBe(true)
    }
  }

  async function nextMessage(match: (m: HmrMessage) => boolean, timeoutMs = 15_000): Promise<HmrMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = messages.find(match)
      if (found) return found
      if (Date.now() > deadline) throw new Error(`no such HMR message; got ${JSON.stringify(messages)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('serves the newest checkpoint, pushes a new one over HMR, and keeps the last good one when one breaks', async () => {
    const first = await modelUrl()
    expectStepWeights(await servedWeights(first), 100)

    copyStep(modelDir, 200)
    const written = Date.now()
    writeState(modelDir, 200)
    const update = await nextMessage((m) => m.type === 'custom' && m.event === 'tfmodel:update')
    console.log(`checkpoint written -> HMR update: ${Date.now() - written} ms`)
    const second = update.data!.descriptor.url
    expect(second).not.toBe(first)
    expectStepWeights(await servedWeights(second), 200)

    copyStep(modelDir, 1000, true)
    writeState(modelDir, 1000)
    const error = await nextMessage((m) => m.type === 'error')
    expect(error.err!.message).toContain('SHARD_TRUNCATED')
    expect(error.err!.message).toContain('model.ckpt-1000')
    expectStepWeights(await servedWeights(second), 200)
  }, 60_000)
})
