export { createOnnxLoader, type OnnxLoaderOptions } from './onnx-loader.js';
export { OnnxModel } from './onnx-model.js';
export { cudaAvailable, providerOrder, type ProviderName } from './execution-providers.js';
