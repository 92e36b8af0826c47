// Access to the TensorFlow-written fixtures (fixtures/manifest.json) and the
// values TensorFlow stored beside them.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = dirname(dirname(fileURLToPath(import.meta.url)))
export const fixturesDir = join(root, 'fixtures')

export interface JsonTensor {
  dtype: string
  shape: number[]
  data: string | string[]
}

export interface FixtureSpec {
  description: string
  checkpoint: string | null
  meta: string | null
  graph: string | null
  graph_text: string | null
  output_node_names: string[]
  input_names: string[]
  frozen: string | null
  tensors: string | null
  io: string | null
  steps?: Record<string, string>
  io_steps?: Record<string, string>
}

export interface Manifest {
  tensorflow_version: string
  fixtures: Record<string, FixtureSpec>
}

export const manifest: Manifest = JSON.parse(readFileSync(join(fixturesDir, 'manifest.json'), 'utf8'))

export function fixture(name: string): FixtureSpec & { dir: string; path: (file: string) => string } {
  const spec = manifest.fixtures[name]
  if (!spec) throw new Error(`no fixture ${name} in fixtures/manifest.json`)
  const dir = join(fixturesDir, name)
  return { ...spec, dir, path: (file: string) => join(dir, file) }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

export function tensorBytes(tensor: JsonTensor): Buffer {
  if (Array.isArray(tensor.data)) throw new Error('string tensor has no byte buffer')
  return Buffer.from(tensor.data, 'base64')
}

/** A fresh copy of a fixture directory, to damage or rewrite in a test. */
export function copyFixture(name: string): string {
  const target = mkdtempSync(join(tmpdir(), `tfmodel-${name.replaceAll('/', '-')}-`))
  cpSync(join(fixturesDir, name), target, { recursive: true })
  return target
}
