/** The ONNX model writers live in support/ so benchmarks can use them too; tests import them from here. */
export * from '../../support/onnx-models.js';
