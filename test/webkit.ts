// WebKit for the browser tests: Debian's WebKitGTK MiniBrowser driven by its
// W3C WebDriver server (WebKitWebDriver) on a private Xvfb display. WebKit is
// the engine family of iOS WKWebView (Capacitor's iOS shell); this is not iOS
// (no Apple GPU, other JIT limits), only the closest engine we can run here.
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'

const MULTIARCH = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu'
const MINIBROWSER = process.env.WEBKIT_MINIBROWSER ?? `/usr/lib/${MULTIARCH}/webkit2gtk-4.1/MiniBrowser`

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, command)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {}
  }
  return undefined
}

const DRIVER = onPath('WebKitWebDriver')
const XVFB = onPath('Xvfb')
/** Without them the WebKit tests report themselves skipped (scripts/setup.sh installs webkit2gtk-driver and xvfb). */
export const haveWebKit = Boolean(DRIVER && XVFB && existsSync(MINIBROWSER))
export const missingWebKit = [!DRIVER && 'WebKitWebDriver', !XVFB && 'Xvfb', !existsSync(MINIBROWSER) && 'MiniBrowser'].filter(Boolean).join(', ')

export interface WebKit {
  navigate(url: string): Promise<void>
  /** Runs `fn` in the page with `args` (JSON); a returned promise is awaited, as WebDriver does for execute/sync. */
  evaluate<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T>
  click(css: string): Promise<void>
  screenshot(path: string): Promise<void>
  close(): Promise<void>
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid) return
  const gone = exited(child)
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM')
  const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 5_000)
  await gone
  clearTimeout(timer)
}

/** Xvfb picks a free display itself and writes its number to fd 3 (no guessing, no lock-file races). */
async function startXvfb(): Promise<{ xvfb: ChildProcess; display: string }> {
  const xvfb = spawn(XVFB!, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] })
  let stderr = ''
  xvfb.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
  try {
    const display = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`Xvfb gave no display in 10 s: ${stderr}`)), 10_000)
      ;(xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
        out += chunk
        if (out.includes('\n')) {
          clearTimeout(timer)
          resolve(`:${out.trim()}`)
        }
      })
      xvfb.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`Xvfb exited with ${code}: ${stderr}`))
      })
    })
    return { xvfb, display }
  } catch (error) {
    await kill(xvfb)
    throw error
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function request<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  const { value } = JSON.parse(text) as { value: T & { error?: string; message?: string } }
  // W3C errors come with a 4xx/5xx status; a script's own result may hold an `error` field.
  if (!response.ok) {
    throw new Error(`WebDriver ${method} ${path}: ${response.status} ${value?.error ? `${value.error}: ${value.message}` : text.slice(0, 500)}`)
  }
  return value
}

/** The driver on a free port; the port can be taken between our probe and its bind, so try a few. */
async function startDriver(display: string): Promise<{ driver: ChildProcess; base: string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const driver = spawn(DRIVER!, [`--port=${port}`, '--host=127.0.0.1'], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } })
    const base = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && driver.exitCode === null) {
      try {
        if ((await request<{ ready: boolean }>(base, 'GET', '/status')).ready) return { driver, base }
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await kill(driver)
    if (attempt === 2) throw new Error('WebKitWebDriver did not answer /status')
  }
}

export async function launchWebKit(): Promise<WebKit> {
  const { xvfb, display } = await startXvfb()
  let driver: ChildProcess | undefined
  let session: string | undefined
  let base = ''
  const close = async () => {
    if (session) await request(base, 'DELETE', `/session/${session}`).catch(() => {})
    session = undefined
    await kill(driver)
    await kill(xvfb)
  }
  try {
    ;({ driver, base } = await startDriver(display))
    const created = await request<{ sessionId: string }>(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
    })
    session = created.sessionId
    // A model loads and its WASM compiles inside one script call; under the tests' own timeout,
    // so a hang reports the driver's error rather than vitest's.
    await request(base, 'POST', `/session/${session}/timeouts`, { script: 45_000, pageLoad: 30_000 })
  } catch (error) {
    await close()
    throw error
  }
  const at = (path: string) => `/session/${session}${path}`
  return {
    navigate: async (url) => void (await request(base, 'POST', at('/url'), { url })),
    evaluate: (fn, ...args) => request(base, 'POST', at('/execute/sync'), { script: `return (${fn.toString()})(...arguments)`, args }),
    click: async (css) => {
      const element = await request<Record<string, string>>(base, 'POST', at('/element'), { using: 'css selector', value: css })
      await request(base, 'POST', at(`/element/${Object.values(element)[0]}/click`), {})
    },
    screenshot: async (path) => writeFileSync(path, Buffer.from(await request<string>(base, 'GET', at('/screenshot')), 'base64')),
    close,
  }
}
