// Two models in one app, run on the backend the test asks for. A build that
// bundles only its models' part of TF.js must register what both need.
import convnet from '../../../../fixtures/convnet/model.ckpt'
import convnetIo from '../../../../fixtures/convnet/io.json'
import detector from '../../../../fixtures/detector/model.ckpt?quantize'
import detectorIo from '../../../../fixtures/detector/io.json'

const models = { convnet: [convnet, convnetIo], detector: [detector, detectorIo] }

/** A fixture tensor (base64 little-endian bytes) as run() takes it. */
function input({ dtype, shape, data }) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
  if (dtype === 'float32') return { data: new Float32Array(bytes.buffer), shape }
  if (dtype === 'uint8') return { data: Int32Array.from(bytes), shape }
  throw new Error(`the page takes no ${dtype} inputs`)
}

/** Each model's outputs on `backend`, and the kernels TF.js has registered for it. */
async function runAll(backend) {
  const results = {}
  for (const [name, [model, io]] of Object.entries(models)) {
    const loaded = await model.load({ backend })
    const inputs = Object.fromEntries(Object.entries(io.inputs).map(([key, tensor]) => [key, input(tensor)]))
    const outputs = await loaded.run(inputs)
    results[name] = Object.fromEntries(Object.entries(outputs).map(([key, tensor]) => [key, Array.from(tensor.data)]))
    loaded.dispose()
  }
  // TF.js keeps its kernel registry on the global object, keyed `<backend>_<kernel>`.
  const registry = globalThis._tfGlobals.get('kernelRegistry')
  const kernels = [...registry.keys()].filter((key) => key.startsWith(`${backend}_`)).map((key) => key.slice(backend.length + 1))
  return { results, kernels }
}

Object.assign(globalThis, { runAll })
document.body.dataset.state = 'ready'
