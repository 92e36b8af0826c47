// What the `vite dev` tests share: an app importing a model, served by Vite
// with the plugin on loopback, an HMR client recording what the server pushes,
// and the served model downloaded as a page would.
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ViteDevServer } from 'vite'
import WebSocket from 'ws'

import type { Options } from '../src/plugin/index.js'
import { loadGraph } from './tfjs-loader.js'

export interface HmrMessage {
  type: string
  event?: string
  data?: { id: string; descriptor: { url: string } }
  err?: { message: string }
  /** When it arrived (ms since the epoch). */
  at: number
}

export interface DevApp {
  server: ViteDevServer
  base: string
  /** Everything the server pushed, in order. */
  messages: HmrMessage[]
  /** A path's body; throws unless it is served with 200. */
  text(path: string): Promise<string>
  /** The model.json URL of the loader module `main.js` imports. */
  modelUrl(): Promise<string>
  /** The first message (already received or to come) that `match` accepts. */
  nextMessage(match: (m: HmrMessage) => boolean, timeoutMs?: number): Promise<HmrMessage>
  /** The model at `url` (model.json and its shards) written to a folder and loaded by TF.js. */
  loadServed(url: string): Promise<{ model: Awaited<ReturnType<typeof loadGraph>>['model']; json: ServedModelJson }>
  close(): Promise<void>
}

export interface ServedModelJson {
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[]
  signature: { inputs: object; outputs: object }
}

export function isUpdate(message: HmrMessage): boolean {
  return message.type === 'custom' && message.event === 'tfmodel:update'
}

/** Serves `appDir` (whose `main.js` is `main`) with the plugin and `options`. */
export async function startDevApp(appDir: string, main: string, options: Options = {}): Promise<DevApp> {
  writeFileSync(join(appDir, 'index.html'), '<script type="module" src="/main.js"></script>\n')
  writeFileSync(join(appDir, 'main.js'), main)
  const { createServer } = await import('vite')
  const { default: tfmodel } = await import('../src/vite.js')
  const server = await createServer({
    root: appDir,
    configFile: false,
    logLevel: 'silent',
    plugins: [tfmodel({ cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')), dts: false, ...options })],
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  })
  await server.listen()
  const base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`
  const messages: HmrMessage[] = []
  const socket = new WebSocket(base.replace('http', 'ws'), 'vite-hmr')
  socket.on('message', (data) => messages.push({ ...(JSON.parse(data.toString()) as Omit<HmrMessage, 'at'>), at: Date.now() }))
  await new Promise((resolve) => socket.once('open', resolve))

  const text = async (path: string) => {
    const response = await fetch(new URL(path, base))
    if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}`)
    return response.text()
  }
  return {
    server,
    base,
    messages,
    text,
    async modelUrl() {
      const main = await text('/main.js')
      const modulePath = /from "([^"]+tfmodel[^"]*)"/.exec(main)?.[1]
      if (!modulePath) throw new Error(`main.js imports no model: ${main}`)
      const loader = await text(modulePath)
      const url = /descriptor\.url = ("[^"]+")/.exec(loader)?.[1]
      if (!url) throw new Error(`the loader names no model URL: ${loader}`)
      return JSON.parse(url) as string
    },
    async nextMessage(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = messages.find(match)
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no such HMR message; got ${JSON.stringify(messages)}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async loadServed(url) {
      const dir = mkdtempSync(join(tmpdir(), 'tfmodel-served-'))
      const json = JSON.parse(await text(url)) as ServedModelJson
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
      for (const path of json.weightsManifest[0]!.paths) {
        writeFileSync(join(dir, path), Buffer.from(await (await fetch(new URL(path, new URL(url, base)))).arrayBuffer()))
      }
      return { model: (await loadGraph(join(dir, 'model.json'))).model, json }
    },
    async close() {
      socket.close()
      await server.close()
    },
  }
}
