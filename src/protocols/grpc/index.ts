export { GrpcServer, type GrpcOptions } from './server.js';
export { PROTO_DIR } from './proto.js';
