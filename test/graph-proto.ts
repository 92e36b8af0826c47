// Decodes GraphDefs in tests through the project's single schema, proto/tensorflow.proto.
import { join } from 'node:path'
import protobuf from 'protobufjs'

import { root } from './fixtures.js'

const schema = protobuf.loadSync(join(root, 'proto', 'tensorflow.proto'))
const GraphDef = schema.lookupType('tensorflow.GraphDef')

export interface DecodedNode {
  name: string
  op: string
  input: string[]
  device: string
  attr: Record<string, { tensor?: { dtype: number; tensorContent?: Uint8Array }; type?: number }>
}

export function decodeGraphDef(bytes: Uint8Array): { node: DecodedNode[] } {
  const message = GraphDef.decode(bytes)
  return GraphDef.toObject(message, { defaults: false, arrays: true, objects: true, enums: Number }) as {
    node: DecodedNode[]
  }
}
