import { unplugin } from './plugin/index.js'

export type { Options } from './plugin/index.js'
export default unplugin.esbuild
