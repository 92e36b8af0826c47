// Imports one real fixture model three ways; the bundler tests build this.
import model from '../../../../fixtures/convnet/model.ckpt'
import quantized from '../../../../fixtures/convnet/model.ckpt?quantize'
import modelUrl from '../../../../fixtures/convnet/model.ckpt?url'
import { again } from './second.js'

export { again, model, modelUrl, quantized }
