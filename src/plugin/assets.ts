// Names and bytes of a converted model's files as the app fetches them: in a
// build, a content-hashed name for the entry and the shards as the core named
// them (content-hashed too, when the converter asks the core for
// `<stem>-<hash>.bin`); in dev, the core's own names under a versioned URL.
// The bytes are copied as they are: model.json already names its shards.
import { createHash } from 'node:crypto'
import { posix } from 'node:path'

import type { ModelFile, ModelSizes } from '../runtime/types.js'
import type { ConvertedModel } from './converter.js'

export interface ModelAssets {
  /** model.json (or the .pb): what the loader's `url` points at. */
  entry: { fileName: string; data: Uint8Array }
  /** Weight shards, beside the entry. */
  shards: { fileName: string; data: Uint8Array }[]
  /** Shard paths relative to the entry, with their sizes, for the runtime's integrity checks. */
  files: ModelFile[]
  sizes: ModelSizes
  /** SHA-256 (hex, 16 digits) of the entry then every shard; the runtime verifies it. */
  hash: string
}

/** Assets for a build: `<dir>/<stem>-<hash>.json` and the shards beside it. */
export function hashedAssets(model: ConvertedModel, stem: string, dir: string): ModelAssets {
  const entryFile = model.files[0]! // the core lists the entry first, then what it names
  const shards = model.files.filter((f) => f !== entryFile).map((f) => ({ fileName: posix.join(dir, f.name), data: f.data }))
  const entryName = `${stem}-${digest([entryFile.data], 10)}${posix.extname(entryFile.name)}`
  const entry = { fileName: posix.join(dir, entryName), data: entryFile.data }
  return describe(model, entry, shards, (shard) => posix.basename(shard.fileName))
}

/** Assets for the dev server: the core's names, served from memory. */
export function devAssets(model: ConvertedModel): ModelAssets {
  const entryFile = model.files[0]! // the core lists the entry first, then what it names
  const shards = model.files.filter((f) => f !== entryFile).map((f) => ({ fileName: f.name, data: f.data }))
  return describe(model, { fileName: entryFile.name, data: entryFile.data }, shards, (shard) => shard.fileName)
}

function describe(
  model: ConvertedModel,
  entry: ModelAssets['entry'],
  shards: ModelAssets['shards'],
  relativePath: (shard: ModelAssets['shards'][number]) => string,
): ModelAssets {
  const weights = shards.reduce((sum, s) => sum + s.data.byteLength, 0)
  return {
    entry,
    shards,
    files: shards.map((s) => ({ path: relativePath(s), bytes: s.data.byteLength })),
    sizes: {
      modelJson: entry.data.byteLength,
      weights,
      float32Weights: model.result.float32WeightBytes,
      total: entry.data.byteLength + weights,
    },
    hash: digest([entry.data, ...shards.map((s) => s.data)], 16),
  }
}

function digest(parts: Uint8Array[], length: number): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex').slice(0, length)
}
